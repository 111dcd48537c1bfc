//! The active liveness challenge, pure: landmarks and timestamps in, a verdict out.
//!
//! No anti-spoofing model can be had offline, so liveness is a challenge-response: a random
//! sequence of head movements, each to be performed within a time limit and held over
//! consecutive frames. A still photo cannot move its nose against its eyes (the yaw
//! measure is a ratio that survives tilting a flat print, see
//! [`crate::geometry::Landmarks::pose`]), and a recording of someone else's session
//! performs the wrong moves in the wrong order. This module reads no clock, draws no
//! randomness of its own and touches no image: the caller passes timestamps, a seed and
//! the landmarks, which is what makes every rule below a plain unit test.

use crate::geometry::{Landmarks, Point};

/// One move the taxpayer is asked to make. Left and right are the taxpayer's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    TurnLeft,
    TurnRight,
    ComeCloser,
}

/// What the UI should ask for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LivenessPrompt {
    /// Before the first move: look straight at the camera.
    LookStraight,
    Do(Action),
}

/// What the detector saw in one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    Face(Landmarks),
    NoFace,
    SeveralFaces,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LivenessFailure {
    /// The move was not made in time, but the face did move: a person who was too slow
    /// or did not understand.
    TimedOut(LivenessPrompt),
    /// Nothing moved beyond detector noise for a whole time limit: a photo or a screen.
    StillImage,
    /// A move other than the one asked for: typically a recording of another session.
    WrongAction { expected: Action },
    /// The face left the frame for longer than a turn can explain.
    FaceLost,
    /// Another face joined for longer than a glance.
    SeveralFaces,
    /// Consecutive frames with bit-identical landmarks: a real sensor always adds noise,
    /// so this is a frozen or injected feed replaying one frame.
    FrozenFeed,
    /// The face jumped across the frame between two frames: a swap, not a movement.
    Discontinuity,
    /// Timestamps went backwards: frames replayed or spliced out of order.
    TimeWentBackwards,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Pending {
        prompt: LivenessPrompt,
        /// Moves completed so far, and how many are asked.
        done: usize,
        steps: usize,
    },
    Passed,
    Failed(LivenessFailure),
}

/// Thresholds in the units of [`crate::geometry::Pose`]. Yaw is about 0.77 * tan(angle),
/// so 0.25 is about 18 degrees and 0.5 about 33 degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct LivenessConfig {
    /// Moves per challenge (at least one). Turns may repeat (never twice in a row); "come closer" is asked
    /// at most once, since a person cannot keep approaching. Three moves give 10 orders.
    pub steps: usize,
    /// Consecutive frontal frames before the first prompt.
    pub baseline_frames: u32,
    /// Consecutive frames a move must be held, so that one noisy landmark set cannot pass.
    pub hold_frames: u32,
    /// Time to get frontal at the start, and to make each move after its prompt.
    pub step_timeout_ms: u64,
    /// How long the face may be missing (or joined by another) before the challenge fails;
    /// the detector can lose a face for a few frames at the far end of a turn.
    pub max_gap_ms: u64,
    /// |yaw| at or below this is facing the camera.
    pub neutral_yaw: f32,
    /// |yaw| at or above this is a turn.
    pub turn_yaw: f32,
    /// "Come closer" is done when the eye distance has grown by this factor, from where the
    /// person stood at the prompt or at the start, whichever was farther.
    pub closer_ratio: f32,
    /// Largest landmark movement (mean over the five points, in eye distances, from the
    /// first frame) below which a timed-out challenge is called a still image.
    pub still_motion: f32,
    /// Largest jump of the eye centre between two frames, in eye distances, plus
    /// `max_speed` eye distances per second of time between them.
    pub max_jump: f32,
    pub max_speed: f32,
    /// This many consecutive bit-identical landmark sets mean a frozen feed.
    pub frozen_frames: u32,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig {
            steps: 3,
            baseline_frames: 3,
            hold_frames: 3,
            step_timeout_ms: 7_000,
            max_gap_ms: 1_000,
            neutral_yaw: 0.25,
            turn_yaw: 0.5,
            closer_ratio: 1.3,
            still_motion: 0.05,
            max_jump: 0.6,
            max_speed: 3.0,
            frozen_frames: 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for `baseline_frames` consecutive frontal frames.
    Baseline {
        frontal: u32,
    },
    /// Move `index` was prompted; `reference` is the eye distance at the first frontal
    /// frame since the prompt (None until then: a move only counts from a frontal start,
    /// so nothing done before the prompt, or left over from the previous move, counts).
    Step {
        index: usize,
        reference: Option<f32>,
        held: u32,
        wrong: u32,
    },
    Over(Verdict),
}

/// One challenge: a random move sequence and the state of checking it.
#[derive(Debug, Clone)]
pub struct Challenge {
    cfg: LivenessConfig,
    actions: Vec<Action>,
    phase: Phase,
    phase_started_ms: u64,
    last_t: u64,
    /// Last frame with exactly one face: its time and landmarks.
    last_face: Option<(u64, Landmarks)>,
    /// Start of the current stretch without exactly one face.
    gap_since: Option<u64>,
    first_face: Option<Landmarks>,
    max_motion: f32,
    identical: u32,
    /// Eye distance when the baseline completed: where the person stood at the start.
    baseline_eye: f32,
}

impl Challenge {
    /// A challenge with a random sequence drawn from `seed`; the caller supplies the seed
    /// from the operating system's generator (see `crate::verify`).
    pub fn new(seed: u64, now_ms: u64, cfg: LivenessConfig) -> Challenge {
        let actions = sequence(seed, cfg.steps.max(1));
        Challenge::with_actions(actions, now_ms, cfg)
    }

    /// A challenge with a given sequence: for tests and scripted demos. An empty sequence
    /// would pass anyone who looks at the camera, so it becomes a single left turn.
    pub fn with_actions(actions: Vec<Action>, now_ms: u64, cfg: LivenessConfig) -> Challenge {
        let actions = if actions.is_empty() {
            vec![Action::TurnLeft]
        } else {
            actions
        };
        Challenge {
            cfg,
            actions,
            phase: Phase::Baseline { frontal: 0 },
            phase_started_ms: now_ms,
            last_t: now_ms,
            last_face: None,
            gap_since: None,
            first_face: None,
            max_motion: 0.0,
            identical: 0,
            baseline_eye: 0.0,
        }
    }

    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    pub fn config(&self) -> &LivenessConfig {
        &self.cfg
    }

    /// The last frame with exactly one face: its time and landmarks.
    pub fn last_face(&self) -> Option<(u64, Landmarks)> {
        self.last_face
    }

    /// The verdict so far, without a new frame.
    pub fn verdict(&self) -> Verdict {
        match self.phase {
            Phase::Over(v) => v,
            Phase::Baseline { .. } => self.pending(LivenessPrompt::LookStraight, 0),
            Phase::Step { index, .. } => {
                self.pending(LivenessPrompt::Do(self.actions[index]), index)
            }
        }
    }

    fn pending(&self, prompt: LivenessPrompt, done: usize) -> Verdict {
        Verdict::Pending {
            prompt,
            done,
            steps: self.actions.len(),
        }
    }

    fn end(&mut self, v: Verdict) -> Verdict {
        self.phase = Phase::Over(v);
        v
    }

    fn fail(&mut self, f: LivenessFailure) -> Verdict {
        self.end(Verdict::Failed(f))
    }

    /// Feeds one frame seen at `t_ms` (any monotonic millisecond clock, the same one
    /// passed to [`Challenge::new`]).
    pub fn observe(&mut self, t_ms: u64, obs: Observation) -> Verdict {
        if let Phase::Over(v) = self.phase {
            return v;
        }
        if t_ms < self.last_t {
            return self.fail(LivenessFailure::TimeWentBackwards);
        }
        self.last_t = t_ms;
        if t_ms.saturating_sub(self.phase_started_ms) > self.cfg.step_timeout_ms {
            if self.max_motion < self.cfg.still_motion {
                return self.fail(LivenessFailure::StillImage);
            }
            return self.fail(LivenessFailure::TimedOut(self.current_prompt()));
        }

        let lm = match obs {
            Observation::Face(lm) => lm,
            other => {
                let since = self
                    .gap_since
                    .unwrap_or_else(|| self.last_face.map_or(self.phase_started_ms, |(t, _)| t));
                self.gap_since = Some(since);
                self.reset_counters();
                if t_ms.saturating_sub(since) > self.cfg.max_gap_ms {
                    return self.fail(match other {
                        Observation::SeveralFaces => LivenessFailure::SeveralFaces,
                        _ => LivenessFailure::FaceLost,
                    });
                }
                return self.verdict();
            }
        };
        self.gap_since = None;

        if let Some((prev_t, prev)) = self.last_face {
            if prev == lm {
                self.identical += 1;
                if self.identical + 1 >= self.cfg.frozen_frames {
                    return self.fail(LivenessFailure::FrozenFeed);
                }
            } else {
                self.identical = 0;
            }
            if !continuous(&self.cfg, (prev_t, &prev), (t_ms, &lm)) {
                return self.fail(LivenessFailure::Discontinuity);
            }
        }
        self.last_face = Some((t_ms, lm));
        let first = *self.first_face.get_or_insert(lm);
        self.max_motion = self.max_motion.max(motion(&first, &lm));

        let pose = lm.pose();
        let frontal = pose.yaw.abs() <= self.cfg.neutral_yaw;
        match self.phase {
            Phase::Baseline { frontal: n } => {
                let n = if frontal { n + 1 } else { 0 };
                if n >= self.cfg.baseline_frames {
                    self.baseline_eye = pose.eye_distance;
                    self.next_step(0, t_ms, Some(pose.eye_distance))
                } else {
                    self.phase = Phase::Baseline { frontal: n };
                    self.verdict()
                }
            }
            Phase::Step {
                index,
                reference,
                held,
                wrong,
            } => {
                let Some(reference) = reference else {
                    if frontal {
                        self.phase = Phase::Step {
                            index,
                            reference: Some(pose.eye_distance),
                            held: 0,
                            wrong: 0,
                        };
                    }
                    return self.verdict();
                };
                let action = self.actions[index];
                let turn = self.cfg.turn_yaw;
                let (done, wrong_move) = match action {
                    Action::TurnLeft => (pose.yaw >= turn, pose.yaw <= -turn),
                    Action::TurnRight => (pose.yaw <= -turn, pose.yaw >= turn),
                    // Measured from the farther of the starting position and the position at
                    // the prompt: someone who already stepped in while turning back to the
                    // camera has started the move, and need not come half as close again.
                    Action::ComeCloser => (
                        pose.eye_distance
                            >= self.cfg.closer_ratio * reference.min(self.baseline_eye)
                            && pose.yaw.abs() < turn,
                        pose.yaw.abs() >= turn,
                    ),
                };
                let (held, wrong) = if done {
                    (held + 1, 0)
                } else if wrong_move {
                    (0, wrong + 1)
                } else {
                    (0, 0)
                };
                if wrong >= self.cfg.hold_frames {
                    return self.fail(LivenessFailure::WrongAction { expected: action });
                }
                if held >= self.cfg.hold_frames {
                    return self.next_step(index + 1, t_ms, frontal.then_some(pose.eye_distance));
                }
                self.phase = Phase::Step {
                    index,
                    reference: Some(reference),
                    held,
                    wrong,
                };
                self.verdict()
            }
            Phase::Over(v) => v,
        }
    }

    fn current_prompt(&self) -> LivenessPrompt {
        match self.verdict() {
            Verdict::Pending { prompt, .. } => prompt,
            _ => LivenessPrompt::LookStraight,
        }
    }

    /// Prompts move `index`. `frontal` is the eye distance when the frame that ended the
    /// previous phase was frontal: the prompt appears on that frame, so it is the move's
    /// starting point and the very next frame may already count.
    fn next_step(&mut self, index: usize, t_ms: u64, frontal: Option<f32>) -> Verdict {
        if index >= self.actions.len() {
            return self.end(Verdict::Passed);
        }
        self.phase = Phase::Step {
            index,
            reference: frontal,
            held: 0,
            wrong: 0,
        };
        self.phase_started_ms = t_ms;
        self.verdict()
    }

    /// Held frames must be consecutive: a gap restarts the count.
    fn reset_counters(&mut self) {
        match &mut self.phase {
            Phase::Baseline { frontal } => *frontal = 0,
            Phase::Step { held, wrong, .. } => {
                *held = 0;
                *wrong = 0;
            }
            Phase::Over(_) => {}
        }
    }
}

/// Whether a face could have moved from `a` to `b` in the time between them, or whether it
/// must be another face.
pub fn continuous(cfg: &LivenessConfig, a: (u64, &Landmarks), b: (u64, &Landmarks)) -> bool {
    let jump = dist(a.1.eye_center(), b.1.eye_center()) / a.1.eye_distance().max(1.0);
    let dt_s = b.0.saturating_sub(a.0) as f32 / 1000.0;
    jump <= cfg.max_jump + cfg.max_speed * dt_s
}

fn dist(a: Point, b: Point) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// Mean displacement of the five landmarks from `a` to `b`, in `a`'s eye distances.
fn motion(a: &Landmarks, b: &Landmarks) -> f32 {
    let (pa, pb) = (a.to_array(), b.to_array());
    let sum: f32 = (0..5)
        .map(|i| {
            dist(
                Point::new(pa[2 * i], pa[2 * i + 1]),
                Point::new(pb[2 * i], pb[2 * i + 1]),
            )
        })
        .sum();
    sum / 5.0 / a.eye_distance().max(1.0)
}

/// SplitMix64: a tiny, well-mixed generator, so that the sequence depends only on the seed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random move sequence: never the same move twice in a row, "come closer" at most once.
pub fn sequence(seed: u64, steps: usize) -> Vec<Action> {
    let mut state = seed;
    let mut out: Vec<Action> = Vec::with_capacity(steps);
    for _ in 0..steps {
        let allowed: Vec<Action> = [Action::TurnLeft, Action::TurnRight, Action::ComeCloser]
            .into_iter()
            .filter(|a| out.last() != Some(a))
            .filter(|a| *a != Action::ComeCloser || !out.contains(&Action::ComeCloser))
            .collect();
        let pick = (splitmix(&mut state) % allowed.len() as u64) as usize;
        out.push(allowed[pick]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::tests::face;
    use std::collections::HashSet;

    const FPS_MS: u64 = 66; // 15 frames per second

    fn cfg() -> LivenessConfig {
        LivenessConfig::default()
    }

    /// A person in front of the kiosk: replays a scripted pose track through a challenge,
    /// with a little landmark jitter as a real detector gives.
    struct Actor {
        t: u64,
        frame: u64,
        cx: f32,
        d: f32,
        yaw: f32,
        log: Vec<(u64, Observation)>,
    }

    impl Actor {
        fn new(t: u64) -> Actor {
            Actor {
                t,
                frame: 0,
                cx: 320.0,
                d: 60.0,
                yaw: 0.0,
                log: Vec::new(),
            }
        }

        fn jitter(&self) -> f32 {
            // Deterministic pseudo-noise of about half a pixel.
            let mut s = self.frame.wrapping_mul(0x2545_F491_4F6C_DD1D);
            (splitmix(&mut s) % 1000) as f32 / 1000.0 - 0.5
        }

        fn obs(&mut self) -> Observation {
            let j = self.jitter();
            let mut lm = face(self.cx + j, 240.0 - j, self.d, self.yaw);
            lm.nose.x += j * 0.3;
            Observation::Face(lm)
        }

        /// `n` frames, moving linearly to `yaw` and eye distance `d`.
        fn go(&mut self, ch: &mut Challenge, n: u32, yaw: f32, d: f32) -> Verdict {
            let (y0, d0) = (self.yaw, self.d);
            let mut v = ch.verdict();
            for i in 1..=n {
                let k = i as f32 / n as f32;
                self.yaw = y0 + (yaw - y0) * k;
                self.d = d0 + (d - d0) * k;
                self.t += FPS_MS;
                self.frame += 1;
                let o = self.obs();
                self.log.push((self.t, o));
                v = ch.observe(self.t, o);
            }
            v
        }

        /// Performs `a` and comes back to frontal, as a cooperative person does.
        fn perform(&mut self, ch: &mut Challenge, a: Action) -> Verdict {
            match a {
                Action::TurnLeft => {
                    self.go(ch, 5, 0.75, self.d);
                    self.go(ch, 4, 0.75, self.d);
                    self.go(ch, 5, 0.0, self.d)
                }
                Action::TurnRight => {
                    self.go(ch, 5, -0.75, self.d);
                    self.go(ch, 4, -0.75, self.d);
                    self.go(ch, 5, 0.0, self.d)
                }
                Action::ComeCloser => {
                    let d = self.d;
                    self.go(ch, 6, 0.0, d * 1.5);
                    self.go(ch, 4, 0.0, d * 1.5)
                }
            }
        }
    }

    fn run_script(ch: &mut Challenge, actor: &mut Actor, moves: &[Action]) -> Verdict {
        let mut v = actor.go(ch, 4, 0.0, actor.d);
        for &a in moves {
            v = actor.perform(ch, a);
        }
        v
    }

    #[test]
    fn sequences_follow_the_rules_and_vary() {
        let mut seen = HashSet::new();
        for seed in 0..500u64 {
            let s = sequence(seed, 3);
            assert_eq!(s.len(), 3);
            assert!(s.windows(2).all(|w| w[0] != w[1]), "{s:?}");
            assert!(s.iter().filter(|a| **a == Action::ComeCloser).count() <= 1);
            seen.insert(s);
        }
        assert_eq!(seen.len(), 10, "every allowed order should occur");
        assert_eq!(sequence(7, 4), sequence(7, 4));
    }

    #[test]
    fn scripted_challenge_passes_for_every_seed() {
        for seed in 0..40 {
            let mut ch = Challenge::new(seed, 1_000, cfg());
            let moves = ch.actions().to_vec();
            let mut actor = Actor::new(1_000);
            let v = run_script(&mut ch, &mut actor, &moves);
            assert_eq!(v, Verdict::Passed, "seed {seed}, moves {moves:?}");
        }
    }

    #[test]
    fn prompts_walk_through_the_sequence() {
        let moves = vec![Action::TurnRight, Action::ComeCloser, Action::TurnLeft];
        let mut ch = Challenge::with_actions(moves.clone(), 0, cfg());
        assert_eq!(
            ch.verdict(),
            Verdict::Pending {
                prompt: LivenessPrompt::LookStraight,
                done: 0,
                steps: 3
            }
        );
        let mut actor = Actor::new(0);
        let v = actor.go(&mut ch, 3, 0.0, 60.0);
        assert_eq!(
            v,
            Verdict::Pending {
                prompt: LivenessPrompt::Do(Action::TurnRight),
                done: 0,
                steps: 3
            }
        );
        let v = actor.perform(&mut ch, Action::TurnRight);
        assert!(
            matches!(
                v,
                Verdict::Pending {
                    prompt: LivenessPrompt::Do(Action::ComeCloser),
                    done: 1,
                    ..
                }
            ),
            "{v:?}"
        );
    }

    #[test]
    fn still_photo_fails() {
        // A photo held in front of the camera: detector jitter only, no moves.
        let mut ch = Challenge::new(42, 0, cfg());
        let mut actor = Actor::new(0);
        let mut v = ch.verdict();
        for _ in 0..200 {
            v = actor.go(&mut ch, 1, 0.0, 60.0);
            if !matches!(v, Verdict::Pending { .. }) {
                break;
            }
        }
        assert_eq!(v, Verdict::Failed(LivenessFailure::StillImage));
        assert!(
            actor.t <= 7_000 + 10 * FPS_MS,
            "fails at the first move's time limit"
        );
    }

    #[test]
    fn photo_tilted_like_a_turn_does_not_count() {
        // Turning a flat print about its vertical axis squeezes it horizontally; the nose
        // stays on the midline, so the yaw measure never reaches a turn.
        let mut ch = Challenge::with_actions(vec![Action::TurnLeft], 0, cfg());
        let mut t = 0;
        let mut v = ch.verdict();
        for i in 0..200u64 {
            t += FPS_MS;
            let squeeze = 1.0 - 0.6 * ((i as f32) / 10.0).sin().abs();
            let lm = face(320.0, 240.0, 60.0, 0.0)
                .map(|p| Point::new(320.0 + (p.x - 320.0) * squeeze, p.y));
            v = ch.observe(t, Observation::Face(lm));
            if !matches!(v, Verdict::Pending { .. }) {
                break;
            }
        }
        assert!(
            matches!(
                v,
                Verdict::Failed(LivenessFailure::TimedOut(LivenessPrompt::Do(
                    Action::TurnLeft
                )))
            ),
            "{v:?}"
        );
    }

    #[test]
    fn identical_frames_are_a_frozen_feed() {
        let mut ch = Challenge::new(1, 0, cfg());
        let lm = face(320.0, 240.0, 60.0, 0.0);
        let mut v = ch.verdict();
        for i in 1..=5 {
            v = ch.observe(i * FPS_MS, Observation::Face(lm));
        }
        assert_eq!(v, Verdict::Failed(LivenessFailure::FrozenFeed));
    }

    #[test]
    fn replayed_session_fails_a_new_challenge() {
        // Record a genuine, passing session...
        let recorded_moves = vec![Action::TurnLeft, Action::TurnRight, Action::ComeCloser];
        let mut ch = Challenge::with_actions(recorded_moves.clone(), 0, cfg());
        let mut actor = Actor::new(0);
        assert_eq!(
            run_script(&mut ch, &mut actor, &recorded_moves),
            Verdict::Passed
        );
        let recording = actor.log.clone();

        // ...and play it back, shifted in time, to challenges asking for other orders.
        for moves in [
            vec![Action::TurnRight, Action::TurnLeft, Action::ComeCloser],
            vec![Action::ComeCloser, Action::TurnLeft, Action::TurnRight],
            vec![Action::TurnRight, Action::ComeCloser, Action::TurnLeft],
        ] {
            let start = 50_000;
            let mut ch = Challenge::with_actions(moves.clone(), start, cfg());
            let mut v = ch.verdict();
            for (t, o) in &recording {
                v = ch.observe(start + t, *o);
                if !matches!(v, Verdict::Pending { .. }) {
                    break;
                }
            }
            if matches!(v, Verdict::Pending { .. }) {
                // The recording ended: the kiosk keeps grabbing the last frame.
                let (t, o) = *recording.last().unwrap();
                v = ch.observe(start + t + cfg().step_timeout_ms + 1, o);
            }
            assert!(
                matches!(
                    v,
                    Verdict::Failed(
                        LivenessFailure::WrongAction { .. } | LivenessFailure::TimedOut(_)
                    )
                ),
                "{moves:?}: {v:?}"
            );
        }
    }

    #[test]
    fn replay_out_of_order_is_refused() {
        let mut ch = Challenge::new(3, 10_000, cfg());
        let mut actor = Actor::new(10_000);
        actor.go(&mut ch, 4, 0.0, 60.0);
        let o = actor.obs();
        assert_eq!(
            ch.observe(actor.t - 500, o),
            Verdict::Failed(LivenessFailure::TimeWentBackwards)
        );
    }

    #[test]
    fn move_made_before_the_prompt_does_not_count() {
        // Already turned left when the challenge starts (a recording cued up to the move):
        // the baseline never completes, so the turn never counts.
        let mut ch = Challenge::with_actions(vec![Action::TurnLeft], 0, cfg());
        let mut actor = Actor::new(0);
        actor.yaw = 0.75;
        let v = actor.go(&mut ch, 30, 0.75, 60.0);
        assert!(
            matches!(
                v,
                Verdict::Pending {
                    prompt: LivenessPrompt::LookStraight,
                    ..
                }
            ),
            "{v:?}"
        );
    }

    #[test]
    fn wrong_direction_fails() {
        let mut ch = Challenge::with_actions(vec![Action::TurnLeft, Action::TurnRight], 0, cfg());
        let mut actor = Actor::new(0);
        actor.go(&mut ch, 4, 0.0, 60.0);
        let v = actor.perform(&mut ch, Action::TurnRight);
        assert_eq!(
            v,
            Verdict::Failed(LivenessFailure::WrongAction {
                expected: Action::TurnLeft
            })
        );
    }

    #[test]
    fn face_lost_or_joined_too_long_fails_but_short_gaps_are_tolerated() {
        let moves = vec![Action::TurnLeft];
        let mut ch = Challenge::with_actions(moves.clone(), 0, cfg());
        let mut actor = Actor::new(0);
        actor.go(&mut ch, 4, 0.0, 60.0);
        // Lost for 400 ms at the far end of the turn: fine.
        actor.go(&mut ch, 5, 0.75, 60.0);
        for _ in 0..6 {
            actor.t += FPS_MS;
            ch.observe(actor.t, Observation::NoFace);
        }
        actor.go(&mut ch, 3, 0.75, 60.0);
        assert_eq!(ch.verdict(), Verdict::Passed);

        let mut ch = Challenge::with_actions(moves.clone(), 0, cfg());
        let mut actor = Actor::new(0);
        actor.go(&mut ch, 4, 0.0, 60.0);
        let mut v = ch.verdict();
        for _ in 0..20 {
            actor.t += FPS_MS;
            v = ch.observe(actor.t, Observation::NoFace);
        }
        assert_eq!(v, Verdict::Failed(LivenessFailure::FaceLost));

        let mut ch = Challenge::with_actions(moves, 0, cfg());
        let mut actor = Actor::new(0);
        actor.go(&mut ch, 4, 0.0, 60.0);
        for _ in 0..20 {
            actor.t += FPS_MS;
            v = ch.observe(actor.t, Observation::SeveralFaces);
        }
        assert_eq!(v, Verdict::Failed(LivenessFailure::SeveralFaces));
    }

    #[test]
    fn face_swap_between_frames_fails() {
        let mut ch = Challenge::new(5, 0, cfg());
        let mut actor = Actor::new(0);
        actor.go(&mut ch, 4, 0.0, 60.0);
        actor.cx += 200.0; // another face, elsewhere in the frame, in the next frame
        let v = actor.go(&mut ch, 1, 0.0, 60.0);
        assert_eq!(v, Verdict::Failed(LivenessFailure::Discontinuity));
    }

    #[test]
    fn slow_person_times_out_with_the_prompt() {
        let mut ch = Challenge::with_actions(vec![Action::ComeCloser], 0, cfg());
        let mut actor = Actor::new(0);
        actor.go(&mut ch, 4, 0.0, 60.0);
        // Nods along, turns a little, but never comes closer.
        let mut v = ch.verdict();
        for i in 0..150 {
            let yaw = if i % 20 < 10 { 0.2 } else { -0.2 };
            actor.cx = if i % 10 < 5 { 310.0 } else { 330.0 };
            v = actor.go(&mut ch, 1, yaw, 60.0);
            if !matches!(v, Verdict::Pending { .. }) {
                break;
            }
        }
        assert_eq!(
            v,
            Verdict::Failed(LivenessFailure::TimedOut(LivenessPrompt::Do(
                Action::ComeCloser
            )))
        );
    }

    #[test]
    fn coming_closer_while_turning_back_counts() {
        let mut ch = Challenge::with_actions(vec![Action::TurnLeft, Action::ComeCloser], 0, cfg());
        let mut actor = Actor::new(0);
        actor.go(&mut ch, 3, 0.0, 60.0);
        actor.go(&mut ch, 4, 0.75, 60.0);
        actor.go(&mut ch, 3, 0.75, 60.0);
        // Turns back to the camera and steps in, in one movement.
        actor.go(&mut ch, 5, 0.0, 90.0);
        assert_eq!(actor.go(&mut ch, 3, 0.0, 90.0), Verdict::Passed);
    }

    #[test]
    fn a_challenge_always_asks_for_a_move() {
        let no_steps = LivenessConfig { steps: 0, ..cfg() };
        assert_eq!(Challenge::new(1, 0, no_steps.clone()).actions().len(), 1);
        assert_eq!(
            Challenge::with_actions(Vec::new(), 0, no_steps).actions(),
            [Action::TurnLeft]
        );
    }

    #[test]
    fn verdict_is_final() {
        let mut ch = Challenge::new(9, 0, cfg());
        let lm = face(320.0, 240.0, 60.0, 0.0);
        ch.observe(10, Observation::Face(lm));
        let v = ch.observe(5, Observation::Face(lm));
        assert_eq!(v, Verdict::Failed(LivenessFailure::TimeWentBackwards));
        assert_eq!(ch.observe(100, Observation::NoFace), v);
    }
}
