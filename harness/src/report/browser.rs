//! Headless Chromium looking at a report: a screenshot, what the rendered page shows, and every
//! network request and console error the page caused. A self-contained report causes none,
//! and the browser is pointed at a proxy that does not exist, so nothing could leave anyway.
//!
//! Spoken to over the DevTools protocol (one WebSocket, JSON messages): launch with
//! `--remote-debugging-port=0`, read the address it prints, open a page, navigate, wait for
//! its load event, evaluate [`PROBE`], capture the screenshot, close.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The browser: `ACURA_HA_CHROMIUM`, or Debian's `chromium`.
pub const CHROMIUM_ENV: &str = "ACURA_HA_CHROMIUM";

/// What the rendered report shows, read from its DOM.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct PageFacts {
    /// The top-level sections' ids, in order.
    pub sections: Vec<String>,
    /// `passed`, `failed` or `unfinished`.
    pub verdict: String,
    /// The diagnosis's findings' rules.
    pub findings: Vec<String>,
    /// Shaded fault and misconfiguration windows on the timeline.
    pub timeline_windows: usize,
    /// Distinct procedure commands with a row in the C1…C28 table.
    pub command_rows: usize,
    /// Cells of every reachability grid.
    pub matrix_cells: usize,
    /// Bars of the availability plot (one per second probed), and its annotated outages.
    pub availability_bars: usize,
    pub outages: usize,
    /// The page's height in CSS pixels.
    pub height: f64,
}

/// The DOM probe [`PageFacts`] is read with.
pub const PROBE: &str = r#"(() => {
  const all = (q) => [...document.querySelectorAll(q)];
  return {
    sections: all('body > section[id]').map((s) => s.id),
    verdict: (document.querySelector('#verdict .verdict')?.className || '').replace('verdict', '').trim(),
    findings: all('#diagnosis .finding[data-rule]').map((f) => f.dataset.rule),
    timeline_windows: all('#timeline svg rect.window').length,
    command_rows: new Set(all('#procedure tr[data-command] .badge:not(.skipped)').map((b) => b.closest('tr').dataset.command)).size,
    matrix_cells: all('#checkpoints table.matrix td:not(.none)').length,
    availability_bars: all('#availability svg rect.requests').length,
    outages: all('#availability svg rect.outage').length,
    height: document.documentElement.scrollHeight,
  };
})()"#;

/// What one look at a page gave.
pub struct Rendered {
    pub facts: PageFacts,
    pub screenshot_png: Vec<u8>,
    /// Requests other than for the page itself.
    pub requests: Vec<String>,
    /// Console messages of level error, exceptions, and the browser's own error entries
    /// (a blocked or failed load, a Content-Security-Policy violation).
    pub console_errors: Vec<String>,
}

/// Open `page` (an HTML file) in headless Chromium and look at it.
pub fn open(page: &Path, deadline: Duration) -> Result<Rendered, String> {
    let page = std::fs::canonicalize(page).map_err(|e| format!("{}: {e}", page.display()))?;
    let profile = tempfile_dir()?;
    let browser = std::env::var(CHROMIUM_ENV).unwrap_or_else(|_| "chromium".into());
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--proxy-server=127.0.0.1:9",
            "--window-size=1280,900",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {browser} (set {CHROMIUM_ENV}, or install Debian's `chromium`): {e}"
            )
        })?;
    let result = look(&mut child, &page, deadline);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&profile);
    result
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "acura-ha-chromium-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// The DevTools address Chromium prints on stderr once it listens.
fn devtools_address(child: &mut Child, deadline: Instant) -> Result<String, String> {
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut sent = false;
        // Read to the end, so the browser never blocks on a full pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            match line.find("ws://") {
                Some(at) if !sent => {
                    sent = tx.send(Ok(line[at..].trim().to_owned())).is_ok();
                }
                _ if seen.len() < 20 => seen.push(line),
                _ => {}
            }
        }
        if !sent {
            let _ = tx.send(Err(seen.join("\n")));
        }
    });
    let wait = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(wait) {
        Ok(Ok(url)) => Ok(url),
        Ok(Err(said)) => Err(format!(
            "the browser exited without a DevTools address:\n{said}"
        )),
        Err(_) => Err("the browser printed no DevTools address in time".into()),
    }
}

struct Session {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    session: Option<String>,
    events: Vec<Value>,
    deadline: Instant,
}

impl Session {
    fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next += 1;
        let id = self.next;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            message["sessionId"] = json!(s);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .map_err(|e| format!("{method}: {e}"))?;
        loop {
            let v = self.receive()?;
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(e) = v.get("error") {
                    return Err(format!("{method}: {e}"));
                }
                return Ok(v.get("result").cloned().unwrap_or(Value::Null));
            }
            self.events.push(v);
        }
    }

    fn receive(&mut self) -> Result<Value, String> {
        loop {
            if Instant::now() > self.deadline {
                return Err("the browser did not finish in time".into());
            }
            match self.socket.read() {
                Ok(Message::Text(t)) => {
                    return serde_json::from_str(t.as_str()).map_err(|e| e.to_string())
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(format!("DevTools connection: {e}")),
            }
        }
    }

    /// Wait for the event `method`, keeping every other one.
    fn wait_for(&mut self, method: &str) -> Result<(), String> {
        if self.events.iter().any(|e| e["method"] == method) {
            return Ok(());
        }
        loop {
            let v = self.receive()?;
            let found = v["method"] == method;
            self.events.push(v);
            if found {
                return Ok(());
            }
        }
    }
}

fn look(child: &mut Child, page: &Path, deadline: Duration) -> Result<Rendered, String> {
    let deadline = Instant::now() + deadline;
    let address = devtools_address(child, deadline)?;
    let (socket, _) =
        tungstenite::connect(address.as_str()).map_err(|e| format!("{address}: {e}"))?;
    if let MaybeTlsStream::Plain(tcp) = socket.get_ref() {
        let _ = tcp.set_read_timeout(Some(Duration::from_millis(500)));
    }
    let mut s = Session {
        socket,
        next: 0,
        session: None,
        events: Vec::new(),
        deadline,
    };
    let target = s.call("Target.createTarget", json!({ "url": "about:blank" }))?;
    let attached = s.call(
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    )?;
    s.session = attached["sessionId"].as_str().map(str::to_owned);
    for domain in ["Page", "Network", "Runtime", "Log"] {
        s.call(&format!("{domain}.enable"), json!({}))?;
    }
    let url = format!("file://{}", page.display());
    s.call("Page.navigate", json!({ "url": url }))?;
    s.wait_for("Page.loadEventFired")?;
    let probed = s.call(
        "Runtime.evaluate",
        json!({ "expression": PROBE, "returnByValue": true }),
    )?;
    let facts: PageFacts = serde_json::from_value(probed["result"]["value"].clone())
        .map_err(|e| format!("the page's facts: {e}: {probed}"))?;
    let shot = s.call(
        "Page.captureScreenshot",
        json!({ "format": "png", "captureBeyondViewport": true }),
    )?;
    let screenshot_png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap_or(""))
        .map_err(|e| format!("the screenshot: {e}"))?;
    let _ = s.call("Browser.close", json!({}));
    let mut requests = Vec::new();
    let mut console_errors = Vec::new();
    for e in &s.events {
        let p = &e["params"];
        match e["method"].as_str() {
            Some("Network.requestWillBeSent") => {
                let u = p["request"]["url"].as_str().unwrap_or("");
                if u != url {
                    requests.push(u.to_owned());
                }
            }
            Some("Runtime.consoleAPICalled") if p["type"] == "error" || p["type"] == "assert" => {
                console_errors.push(p["args"].to_string())
            }
            Some("Runtime.exceptionThrown") => {
                console_errors.push(p["exceptionDetails"]["text"].to_string())
            }
            Some("Log.entryAdded") if p["entry"]["level"] == "error" => {
                console_errors.push(p["entry"]["text"].to_string())
            }
            _ => {}
        }
    }
    Ok(Rendered {
        facts,
        screenshot_png,
        requests,
        console_errors,
    })
}
