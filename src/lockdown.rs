//! Keeping the fullscreen kiosk window fullscreen and on screen under X11.
//!
//! Slint and winit remember the fullscreen state they asked for, not the one the window
//! manager applied: when a window manager takes fullscreen away (matchbox's default F11
//! binding does), or iconifies the window, neither notices. This guard reads the window's
//! EWMH/ICCCM state from the X server on its own connection and, when fullscreen is gone
//! or the window is hidden, asks the window manager for it back with the standard client
//! messages. It never acts in `--windowed` mode (the caller does not start it there).

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt as _, EventMask, MapState, Window,
};
use x11rb::rust_connection::RustConnection;

x11rb::atom_manager! {
    Atoms: AtomsCookie {
        _NET_WM_PID,
        _NET_WM_STATE,
        _NET_WM_STATE_FULLSCREEN,
        _NET_WM_STATE_HIDDEN,
        _NET_ACTIVE_WINDOW,
        WM_STATE,
    }
}

/// What the guard found wrong and asked the window manager to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    Fullscreen,
    Shown,
}

pub struct Guard {
    conn: RustConnection,
    root: Window,
    atoms: Atoms,
    pid: u32,
    window: Option<Window>,
}

impl Guard {
    /// A guard on `$DISPLAY`, or `None` when there is no X server to talk to (the window
    /// then runs on another backend and this guard has nothing to do).
    pub fn connect() -> Option<Self> {
        let (conn, screen) = x11rb::connect(None).ok()?;
        let root = conn.setup().roots.get(screen)?.root;
        let atoms = Atoms::new(&conn).ok()?.reply().ok()?;
        Some(Guard {
            conn,
            root,
            atoms,
            pid: std::process::id(),
            window: None,
        })
    }

    /// Our top-level window: the one whose `_NET_WM_PID` is this process (winit sets it),
    /// searched among the root's children and, for reparenting window managers, theirs.
    fn find_window(&self) -> Option<Window> {
        let top = self.conn.query_tree(self.root).ok()?.reply().ok()?.children;
        for w in top.iter().rev() {
            if self.pid_of(*w) == Some(self.pid) {
                return Some(*w);
            }
            if let Some(kids) = self.conn.query_tree(*w).ok().and_then(|c| c.reply().ok()) {
                if let Some(k) = kids
                    .children
                    .iter()
                    .find(|k| self.pid_of(**k) == Some(self.pid))
                {
                    return Some(*k);
                }
            }
        }
        None
    }

    fn pid_of(&self, w: Window) -> Option<u32> {
        let r = self
            .conn
            .get_property(false, w, self.atoms._NET_WM_PID, AtomEnum::CARDINAL, 0, 1)
            .ok()?
            .reply()
            .ok()?;
        r.value32()?.next()
    }

    /// One look at the window: `Ok(list of what was asked back)`, empty when all is well
    /// or the window does not exist yet. An error means the X connection is gone.
    pub fn check(&mut self) -> Result<Vec<Restored>, x11rb::errors::ConnectionError> {
        let Some(w) = self.window.or_else(|| self.find_window()) else {
            return Ok(Vec::new());
        };
        self.window = Some(w);
        let a = &self.atoms;
        let state: Vec<u32> = match self
            .conn
            .get_property(false, w, a._NET_WM_STATE, AtomEnum::ATOM, 0, 64)?
            .reply()
        {
            Ok(r) => r.value32().map(|v| v.collect()).unwrap_or_default(),
            // The window is gone (destroyed at exit): nothing to guard any more.
            Err(_) => {
                self.window = None;
                return Ok(Vec::new());
            }
        };
        let iconic = self
            .conn
            .get_property(false, w, a.WM_STATE, a.WM_STATE, 0, 1)?
            .reply()
            .ok()
            .and_then(|r| r.value32().and_then(|mut v| v.next()))
            == Some(3);
        let viewable = self
            .conn
            .get_window_attributes(w)?
            .reply()
            .is_ok_and(|r| r.map_state == MapState::VIEWABLE);
        let mut done = Vec::new();
        if iconic || !viewable || state.contains(&a._NET_WM_STATE_HIDDEN) {
            // ICCCM: mapping an iconic window asks for the normal state; EWMH: activating
            // it raises and focuses it.
            self.conn.map_window(w)?;
            self.client_message(w, a._NET_ACTIVE_WINDOW, [1, 0, 0, 0, 0])?;
            done.push(Restored::Shown);
        }
        if !state.contains(&a._NET_WM_STATE_FULLSCREEN) {
            // _NET_WM_STATE_ADD = 1, source indication 1 = a normal application.
            self.client_message(w, a._NET_WM_STATE, [1, a._NET_WM_STATE_FULLSCREEN, 0, 1, 0])?;
            done.push(Restored::Fullscreen);
        }
        self.conn.flush()?;
        Ok(done)
    }

    fn client_message(
        &self,
        w: Window,
        kind: u32,
        data: [u32; 5],
    ) -> Result<(), x11rb::errors::ConnectionError> {
        let ev = ClientMessageEvent::new(32, w, kind, data);
        self.conn.send_event(
            false,
            self.root,
            EventMask::SUBSTRUCTURE_REDIRECT | EventMask::SUBSTRUCTURE_NOTIFY,
            ev,
        )?;
        Ok(())
    }
}
