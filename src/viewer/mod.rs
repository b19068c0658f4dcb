//! The interactive replay viewer (`synthgym replay FILE`, built with `--features viewer`):
//! recorded episodes in a window, drawn by the same meshes and shading as datasets.
//!
//! - [`crate::replay::player`]: playback, timeline, episode picker, camera modes,
//!   overlays and keyboard takeover, as plain data driven by commands (no bevy; tested
//!   without a window). The window draws what its [`Player`] says; it decides nothing itself.
//! - [`geometry`]: the free, follow and top-down cameras and the lidar overlay;
//! - `app`: `ViewerPlugin`, the bevy systems (input, playback, scene sync, camera, gizmos,
//!   text panel, timeline bar, scripted keys, screenshots); [`run`] builds the
//!   [`Player`] from the recording it is given and opens the window.
//!
//! Depends on [`crate::render`] (meshes, materials, cameras) and [`crate::replay`]
//! (the player); `render/` itself knows nothing of recordings.
//!
//! Takeover re-simulates the shown episode to the shown step ([`crate::replay::Branch`])
//! and hands agent 0 to the keyboard; on finishing, the branch is written beside the
//! recording as `<stem>.branch-e<episode>-s<step>.episodes`, an ordinary recording.

mod app;
pub mod geometry;

use std::path::{Path, PathBuf};

use crate::render::RenderError;
use crate::replay::Recording;
use crate::replay::player::{MakeEnv, Player};

/// How the viewer starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewerOptions {
    /// Window width in logical pixels.
    pub width: u32,
    /// Window height in logical pixels.
    pub height: u32,
    /// Key names pressed one per frame once the window is up (`space`, `right`, `t`, …;
    /// see `synthgym replay --help`), for demos and tests.
    pub keys: Vec<String>,
    /// Save a screenshot of the window to this PNG after the keys.
    pub screenshot: Option<PathBuf>,
    /// Close the viewer after the keys (and screenshot).
    pub exit_after_keys: bool,
}

/// Opens a window on `recording` (read from `source`) and runs until it closes.
/// `make_env` makes a fresh env of the recording for takeovers (`None`: no takeover).
pub fn run(recording: Recording, source: &Path, make_env: Option<MakeEnv>, options: ViewerOptions) -> Result<(), RenderError> {
    if recording.episodes.is_empty() {
        return Err(RenderError::Config(format!("{} holds no episode", source.display())));
    }
    if recording.episodes.iter().all(|e| e.initial.objects.is_empty()) {
        return Err(RenderError::Config("the recording has no scene to draw (its env keeps no snapshots, as CartPole)".into()));
    }
    if options.width == 0 || options.height == 0 || options.width > 8192 || options.height > 8192 {
        return Err(RenderError::Size { width: options.width, height: options.height });
    }
    let keys = options
        .keys
        .iter()
        .map(|k| app::key_named(k).ok_or_else(|| RenderError::Config(format!("--keys: unknown key {k:?}"))))
        .collect::<Result<Vec<_>, _>>()?;
    check_display()?;
    crate::render::renderer::probe_adapter()?;
    // Scripted keys act on a paused viewer, so that they mean the same steps every run.
    let state = Player::new(recording, source, make_env, !keys.is_empty());
    app::run(
        state,
        app::AppOptions {
            width: options.width,
            height: options.height,
            keys,
            screenshot: options.screenshot,
            exit_after_keys: options.exit_after_keys,
        },
    )
}

/// What to do without a display.
const NO_DISPLAY_HELP: &str = "Run on a desktop, or under a virtual X server: \
    `xvfb-run -s '-screen 0 1280x720x24' synthgym replay FILE` (Debian: apt-get install xvfb); \
    or draw frames headlessly with --export";

/// Fails with a clear message unless an X server answers at `DISPLAY` (winit would panic).
fn check_display() -> Result<(), RenderError> {
    let Some(display) = std::env::var_os("DISPLAY").map(|d| d.to_string_lossy().into_owned()) else {
        if std::env::var_os("WAYLAND_DISPLAY").is_some() {
            return Ok(());
        }
        return Err(RenderError::Config(format!("no display: DISPLAY is not set. {NO_DISPLAY_HELP}")));
    };
    let unreachable = |why: String| RenderError::Config(format!("cannot reach the X display {display:?} ({why}). {NO_DISPLAY_HELP}"));
    // `[host]:number[.screen]`; no host (or `unix`) means the local socket.
    let (host, rest) = display.rsplit_once(':').ok_or_else(|| unreachable("not of the form [host]:number".into()))?;
    let number: u16 = rest.split('.').next().and_then(|n| n.parse().ok()).ok_or_else(|| unreachable("no display number".into()))?;
    if host.is_empty() || host == "unix" {
        let socket = format!("/tmp/.X11-unix/X{number}");
        std::os::unix::net::UnixStream::connect(&socket).map_err(|e| unreachable(format!("{socket}: {e}")))?;
    } else if !host.starts_with('/') {
        // A remote display (SSH forwarding and the like): TCP port 6000 + number.
        use std::net::ToSocketAddrs;
        let addr = (host, 6000u16.saturating_add(number))
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| unreachable(format!("cannot resolve {host}")))?;
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(3)).map_err(|e| unreachable(format!("{addr}: {e}")))?;
    }
    Ok(())
}
