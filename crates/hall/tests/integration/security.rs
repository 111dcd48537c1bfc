//! Nothing readable without logging in (but the call board), CSRF, cross-site POSTs,
//! roles, login throttling, cookie flags, logout, and the audit log.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_required_roles_csrf_and_throttling() {
    let rig = Rig::start("security", RigOptions::default()).await;
    let c = client();
    for path in [
        "/",
        "/queue",
        "/figures",
        "/config",
        "/users",
        "/audit",
        "/kiosks/KSK-T-0001",
        "/alerts/panel",
    ] {
        let r = c
            .get(rig.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{path} must redirect to the login");
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login")
        );
    }
    for path in ["/api/stats", "/events"] {
        let r = c.get(rig.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    for path in ["/board", "/board/state", "/healthz", "/static/app.css"] {
        let r = c.get(rig.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} is public");
    }
    let r = c.get(rig.url("/board")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));

    // The session cookie is HttpOnly, Secure, SameSite=Strict, __Host-.
    let r = login_attempt(&rig.url(""), STAFF_USER, STAFF_PASS).await;
    let sc: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = sc
        .iter()
        .find(|c| c.starts_with("__Host-hall="))
        .expect("session cookie");
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }

    // Staff may not reach IT pages.
    let staff = Staff::login(&rig.url(""), STAFF_USER, STAFF_PASS).await;
    for path in ["/config", "/users", "/audit"] {
        assert_eq!(staff.get(path).await.status(), 403, "{path}");
    }
    // A POST without the CSRF token, or from another site, changes nothing.
    let r = staff
        .http
        .post(rig.url("/queue/call"))
        .header("cookie", format!("__Host-hall={}", staff.cookie))
        .form(&[("counter", "1"), ("_csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = staff
        .http
        .post(rig.url("/queue/call"))
        .header("cookie", format!("__Host-hall={}", staff.cookie))
        .header("origin", "http://evil.example")
        .form(&[("counter", "1"), ("_csrf", staff.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // IT can add an account; the new account works; the action is audited.
    let it = Staff::login(&rig.url(""), IT_USER, IT_PASS).await;
    let r = it
        .post(
            "/users",
            &[
                ("name", "li.counter"),
                ("role", "staff"),
                ("password", "a-long-password-1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = it
        .post(
            "/users",
            &[("name", "weak"), ("role", "staff"), ("password", "short")],
        )
        .await;
    assert_eq!(r.status(), 422);
    Staff::login(&rig.url(""), "li.counter", "a-long-password-1").await;

    // Five wrong passwords lock the account out, even for the right password.
    for _ in 0..5 {
        let r = login_attempt(&rig.url(""), "li.counter", "wrong-password-x").await;
        assert_eq!(r.status(), 401);
    }
    let r = login_attempt(&rig.url(""), "li.counter", "a-long-password-1").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));

    // Logout ends the session.
    let r = staff.post("/logout", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(staff.get("/").await.status(), 303);

    let audit = it.get_text("/audit").await;
    for action in [
        "login",
        "login_failed",
        "login_throttled",
        "user_add",
        "logout",
    ] {
        assert!(
            audit.contains(&format!("<code>{action}</code>")),
            "audit lacks {action}"
        );
    }
}
