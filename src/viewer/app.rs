//! The viewer's bevy app: a window, the scene drawn as the renderer draws datasets, gizmo
//! overlays, a text panel and a timeline bar; keys and mouse become [`Command`]s for
//! [`Player`].

use std::collections::VecDeque;
use std::path::PathBuf;

use bevy::app::TerminalCtrlCHandlerPlugin;
use bevy::camera::{Camera, Camera3d, Projection};
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::render_resource::TextureFormat;
use bevy::render::settings::{Backends, RenderCreation, WgpuSettings};
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::{PrimaryWindow, WindowCloseRequested, WindowPlugin, WindowResolution};

use super::geometry::{self, Orbit};
use crate::render::image::write_rgb;
use crate::render::randomize::{self, CameraMode as SampleCamera};
use crate::render::renderer::{SceneMeshes, add_materials};
use crate::render::style::extents;
use crate::render::{Appearance, Lighting, Quality, RenderError, RenderScene, RgbImage};
use crate::replay::player::{CameraMode, Command, Controls, Drive, Overlay, Player, agents};
use crate::snapshot::{Class, Snapshot};
use crate::util::seed::rng_from_seed;

/// Frames to wait before a scripted key press (pipelines and fonts load first).
const WARM_UP_FRAMES: u32 = 15;
/// Frames between the last scripted key and the screenshot.
const SETTLE_FRAMES: u32 = 5;
/// Timeline bar: margin to the window edges and height, in logical pixels.
const BAR_MARGIN: f32 = 12.0;
const BAR_HEIGHT: f32 = 14.0;

/// Window size and automation.
pub(super) struct AppOptions {
    pub width: u32,
    pub height: u32,
    /// Keys pressed one per frame after the warm-up (tests and screenshots).
    pub keys: Vec<KeyCode>,
    /// Save a screenshot after the keys, then exit.
    pub screenshot: Option<PathBuf>,
    /// Exit after the keys (and screenshot).
    pub exit_after_keys: bool,
}

/// The drawn scene's entities and which scene they show.
#[derive(Resource)]
struct Drawn {
    meshes: SceneMeshes,
    key: Option<(usize, usize, usize)>,
}

/// Scripted keys and what to do after them.
#[derive(Resource)]
struct Script {
    keys: VecDeque<KeyCode>,
    screenshot: Option<PathBuf>,
    exit: bool,
    frame: u32,
    idle: u32,
    shot_taken: bool,
}

/// Mouse and key-repeat state.
#[derive(Resource, Default)]
struct Pointer {
    dragging_bar: bool,
    orbit: Option<Orbit>,
    repeat: Option<(Drive, f32)>,
    screenshots: u32,
}

#[derive(Component)]
struct Hud;
#[derive(Component)]
struct BarFill;
#[derive(Component)]
struct MainCamera;

/// The replay viewer's systems, in one chain: input, playback, scene sync, camera,
/// overlays, text panel, scripted keys, close. Besides a window, the app must hold the
/// [`Player`] it shows (a non-send resource: its takeover env need not be `Send`), the
/// scripted keys (`Script`) and the scene meshes (`Drawn`, built once the renderer has
/// started); [`run`] sets all of them up, so the plugin is this module's, not a public one.
pub(super) struct ViewerPlugin;

impl Plugin for ViewerPlugin {
    fn build(&self, app: &mut App) {
        add_materials(app);
        let sky = Lighting::default().sky;
        app.insert_resource(ClearColor(Color::srgb(sky[0], sky[1], sky[2])))
            .init_resource::<Pointer>()
            .add_systems(Startup, setup)
            .add_systems(
                Update,
                (input, playback, sync_scene, place_camera, draw_overlays, update_hud, run_script, finish_on_close).chain(),
            );
    }
}

/// Runs the viewer until its window closes (or the script ends).
pub(super) fn run(state: Player, options: AppOptions) -> Result<(), RenderError> {
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: format!("synthgym replay: {}", state.recording().env),
                    resolution: WindowResolution::new(options.width, options.height),
                    ..default()
                }),
                ..default()
            })
            .set(RenderPlugin {
                render_creation: RenderCreation::Automatic(Box::new(WgpuSettings { backends: Some(Backends::VULKAN), ..default() })),
                ..default()
            })
            .disable::<TerminalCtrlCHandlerPlugin>(),
    );
    app.add_plugins(ViewerPlugin);
    app.insert_non_send(state);
    app.insert_resource(Script {
        keys: options.keys.into(),
        screenshot: options.screenshot,
        exit: options.exit_after_keys,
        frame: 0,
        idle: 0,
        shot_taken: false,
    });
    app.finish();
    app.cleanup();
    let meshes = SceneMeshes::new(app.world_mut(), Quality::Fast)?;
    meshes.set_light(app.world_mut(), &Lighting::default());
    app.insert_resource(Drawn { meshes, key: None });
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => Err(RenderError::Readback(format!("the viewer exited with code {code}"))),
    }
}

fn setup(mut commands: Commands) {
    commands.spawn((
        Camera3d::default(),
        Camera::default(),
        Projection::Perspective(PerspectiveProjection { fov: 55f32.to_radians(), near: 0.05, ..default() }),
        Transform::from_xyz(0.0, 10.0, 10.0).looking_at(Vec3::ZERO, Vec3::Y),
        MainCamera,
    ));
    commands.spawn((
        Text::new(""),
        TextFont { font_size: 14.0.into(), ..default() },
        TextColor(Color::WHITE),
        Node {
            position_type: PositionType::Absolute,
            left: Val::Px(10.0),
            top: Val::Px(8.0),
            padding: UiRect::all(Val::Px(6.0)),
            ..default()
        },
        BackgroundColor(Color::srgba(0.0, 0.0, 0.0, 0.55)),
        Hud,
    ));
    commands
        .spawn((
            Node {
                position_type: PositionType::Absolute,
                left: Val::Px(BAR_MARGIN),
                right: Val::Px(BAR_MARGIN),
                bottom: Val::Px(BAR_MARGIN),
                height: Val::Px(BAR_HEIGHT),
                ..default()
            },
            BackgroundColor(Color::srgba(0.0, 0.0, 0.0, 0.6)),
        ))
        .with_children(|bar| {
            bar.spawn((
                Node { width: Val::Percent(0.0), height: Val::Percent(100.0), ..default() },
                BackgroundColor(Color::srgb(0.95, 0.6, 0.1)),
                BarFill,
            ));
        });
}

/// The command of a key press (`shift` held), given whether a takeover is in progress.
pub(super) fn command_for(key: KeyCode, shift: bool, takeover: bool) -> Option<Command> {
    if takeover {
        let drive = match key {
            KeyCode::ArrowUp => Some(Drive::Up),
            KeyCode::ArrowDown => Some(Drive::Down),
            KeyCode::ArrowLeft => Some(Drive::Left),
            KeyCode::ArrowRight => Some(Drive::Right),
            KeyCode::Space => Some(Drive::Act),
            KeyCode::KeyX => Some(Drive::Release),
            KeyCode::Period => Some(Drive::Wait),
            _ => digit(key).map(Drive::Index),
        };
        if let Some(d) = drive {
            return Some(Command::Drive(d));
        }
    }
    let step = if shift { 10 } else { 1 };
    Some(match key {
        KeyCode::Space => Command::TogglePlay,
        KeyCode::ArrowRight => Command::Step(step),
        KeyCode::ArrowLeft => Command::Step(-step),
        KeyCode::Home => Command::First,
        KeyCode::End => Command::Last,
        KeyCode::ArrowUp | KeyCode::Equal | KeyCode::NumpadAdd => Command::Faster,
        KeyCode::ArrowDown | KeyCode::Minus | KeyCode::NumpadSubtract => Command::Slower,
        KeyCode::BracketRight | KeyCode::PageDown => Command::Episode(1),
        KeyCode::BracketLeft | KeyCode::PageUp => Command::Episode(-1),
        KeyCode::KeyC => Command::CycleCamera,
        KeyCode::Tab => Command::NextAgent,
        KeyCode::KeyL => Command::Toggle(Overlay::Lidar),
        KeyCode::KeyG => Command::Toggle(Overlay::Goals),
        KeyCode::KeyB => Command::Toggle(Overlay::Boxes),
        KeyCode::KeyH => Command::Toggle(Overlay::Hud),
        KeyCode::KeyT => Command::Takeover,
        _ => return None,
    })
}

const DIGITS: [KeyCode; 10] = [
    KeyCode::Digit0,
    KeyCode::Digit1,
    KeyCode::Digit2,
    KeyCode::Digit3,
    KeyCode::Digit4,
    KeyCode::Digit5,
    KeyCode::Digit6,
    KeyCode::Digit7,
    KeyCode::Digit8,
    KeyCode::Digit9,
];

fn digit(key: KeyCode) -> Option<u8> {
    DIGITS.iter().position(|&k| k == key).map(|i| i as u8)
}

/// The key a script names (as `--keys` spells them).
pub(super) fn key_named(name: &str) -> Option<KeyCode> {
    let lower = name.trim().to_ascii_lowercase();
    Some(match lower.as_str() {
        "space" => KeyCode::Space,
        "left" => KeyCode::ArrowLeft,
        "right" => KeyCode::ArrowRight,
        "up" => KeyCode::ArrowUp,
        "down" => KeyCode::ArrowDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "tab" => KeyCode::Tab,
        "pageup" | "[" => KeyCode::BracketLeft,
        "pagedown" | "]" => KeyCode::BracketRight,
        "+" | "=" => KeyCode::Equal,
        "-" => KeyCode::Minus,
        "." | "wait" => KeyCode::Period,
        "f12" => KeyCode::F12,
        "esc" | "escape" => KeyCode::Escape,
        // A frame with no key.
        "none" => KeyCode::F24,
        s if s.len() == 1 => {
            let c = s.chars().next()?;
            if let Some(d) = c.to_digit(10) {
                return Some(DIGITS[d as usize]);
            }
            letter_key(c)?
        }
        _ => return None,
    })
}

fn letter_key(c: char) -> Option<KeyCode> {
    Some(match c {
        'b' => KeyCode::KeyB,
        'c' => KeyCode::KeyC,
        'g' => KeyCode::KeyG,
        'h' => KeyCode::KeyH,
        'l' => KeyCode::KeyL,
        't' => KeyCode::KeyT,
        'x' => KeyCode::KeyX,
        'w' => KeyCode::KeyW,
        'a' => KeyCode::KeyA,
        's' => KeyCode::KeyS,
        'd' => KeyCode::KeyD,
        _ => return None,
    })
}

/// Keys, mouse and scripted keys → commands; the free camera's mouse and WASD controls.
#[allow(clippy::too_many_arguments, reason = "a bevy system takes each resource it reads as a parameter")]
fn input(
    mut state: NonSendMut<Player>,
    keys: Res<ButtonInput<KeyCode>>,
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    windows: Query<&Window, With<PrimaryWindow>>,
    time: Res<Time>,
    mut script: ResMut<Script>,
    mut pointer: ResMut<Pointer>,
    mut exit: MessageWriter<AppExit>,
    mut commands: Commands,
) {
    let shift = keys.pressed(KeyCode::ShiftLeft) || keys.pressed(KeyCode::ShiftRight);
    let mut pressed: Vec<KeyCode> = keys.get_just_pressed().copied().collect();
    script.frame += 1;
    if script.frame > WARM_UP_FRAMES
        && let Some(k) = script.keys.pop_front()
    {
        pressed.push(k);
    }
    for key in pressed {
        match key {
            KeyCode::Escape => {
                state.finish();
                report(&mut state);
                exit.write(AppExit::Success);
                return;
            }
            KeyCode::F12 => {
                pointer.screenshots += 1;
                let path = PathBuf::from(format!("synthgym-screenshot-{}.png", pointer.screenshots));
                take_screenshot(&mut commands, path, false);
            }
            _ => {
                if let Some(c) = command_for(key, shift, state.takeover().is_some()) {
                    if let Command::Drive(d) = c {
                        pointer.repeat = Some((d, -0.3));
                    }
                    state.apply(c);
                }
            }
        }
    }
    // A held driving key repeats at the playback rate after a short delay.
    if let Some((d, since)) = pointer.repeat {
        let key_held = [KeyCode::ArrowUp, KeyCode::ArrowDown, KeyCode::ArrowLeft, KeyCode::ArrowRight, KeyCode::Period]
            .into_iter()
            .any(|k| keys.pressed(k) && command_for(k, false, true) == Some(Command::Drive(d)));
        if !key_held || state.takeover().is_none() {
            pointer.repeat = None;
        } else {
            let t = since + time.delta_secs();
            let period = 1.0 / (crate::replay::player::STEPS_PER_SECOND * state.speed());
            pointer.repeat = Some((
                d,
                if t >= period {
                    state.apply(Command::Drive(d));
                    t - period
                } else {
                    t
                },
            ));
        }
    }
    report(&mut state);

    let Ok(window) = windows.single() else { return };
    let cursor = window.cursor_position();
    let (w, h) = (window.width(), window.height());
    let on_bar =
        |p: Vec2| p.y >= h - BAR_MARGIN - BAR_HEIGHT - 4.0 && p.y <= h - BAR_MARGIN + 4.0 && p.x >= BAR_MARGIN && p.x <= w - BAR_MARGIN;
    if buttons.just_pressed(MouseButton::Left) {
        pointer.dragging_bar = cursor.is_some_and(on_bar);
    }
    if !buttons.pressed(MouseButton::Left) {
        pointer.dragging_bar = false;
    }
    if pointer.dragging_bar
        && let Some(p) = cursor
    {
        state.apply(Command::Seek((p.x - BAR_MARGIN) / (w - 2.0 * BAR_MARGIN).max(1.0)));
    } else if state.camera == CameraMode::Free {
        let orbit = pointer.orbit.get_or_insert_with(|| Orbit::framing(state.shown()));
        if buttons.pressed(MouseButton::Left) || buttons.pressed(MouseButton::Right) {
            orbit.rotate(motion.delta.x * 0.005, motion.delta.y * 0.005);
        }
        orbit.zoom(scroll.delta.y);
        let pan = time.delta_secs() * 0.8;
        let axis = |a: KeyCode, b: KeyCode| f32::from(keys.pressed(a) as u8) - f32::from(keys.pressed(b) as u8);
        orbit.pan(axis(KeyCode::KeyW, KeyCode::KeyS) * pan, axis(KeyCode::KeyD, KeyCode::KeyA) * pan);
    }
}

/// Tells the user (on standard output, where scripts read it).
fn say(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{message}");
}

/// Prints the state's new status message, once.
fn report(state: &mut Player) {
    if !state.status.is_empty() {
        say(&state.status);
        state.status.clear();
    }
}

fn playback(mut state: NonSendMut<Player>, time: Res<Time>) {
    state.advance(time.delta_secs());
}

/// Rebuilds the scene's meshes when the shown scene changed.
fn sync_scene(world: &mut World) {
    let (key, scene) = {
        let state = world.non_send::<Player>();
        let key = (state.episode, state.scene, state.current().log.steps.len());
        if world.resource::<Drawn>().key == Some(key) {
            return;
        }
        (key, RenderScene::from_snapshot(state.shown(), &Appearance::default()))
    };
    world.resource_scope(|world, mut drawn: Mut<Drawn>| {
        drawn.meshes.show(world, &scene, None);
        drawn.key = Some(key);
    });
}

/// The scene object the camera follows.
fn followed(state: &Player) -> Option<usize> {
    let list = agents(state.shown());
    list.get(state.follow.min(list.len().saturating_sub(1))).copied()
}

fn place_camera(state: NonSend<Player>, pointer: Res<Pointer>, mut camera: Query<&mut Transform, With<MainCamera>>) {
    let Ok(mut transform) = camera.single_mut() else { return };
    let scene = state.shown();
    let view = match (state.camera, followed(&state)) {
        (CameraMode::Free, _) => pointer.orbit.unwrap_or_else(|| Orbit::framing(scene)).view(),
        (CameraMode::Follow, Some(i)) => geometry::follow(&scene.objects[i]),
        // On roads, top-down over the followed car (the whole road is kilometres long).
        (CameraMode::TopDown, Some(i)) if scene.objects[i].class == Class::EgoVehicle => {
            let p = Vec3::from_array(scene.objects[i].position);
            let eye = p + Vec3::Y * 45.0;
            crate::render::CameraView { eye: eye.to_array(), target: p.to_array(), up: [0.0, 0.0, -1.0], fov_y_deg: 55.0, near: 0.1 }
        }
        _ => randomize::camera(SampleCamera::TopDown, scene, false, &mut rng_from_seed(0)),
    };
    *transform = view.transform();
}

fn class_color(class: Class) -> Color {
    let m = Appearance::default().material(class, 0);
    Color::srgb(m.color[0], m.color[1], m.color[2])
}

fn draw_overlays(state: NonSend<Player>, mut gizmos: Gizmos) {
    let scene = state.shown();
    let flat = Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2);
    let me = followed(&state);
    if state.overlays.boxes {
        for o in scene.objects.iter().filter(|o| !o.class.is_surface()) {
            let t = Transform {
                translation: Vec3::from_array(o.position),
                rotation: Quat::from_array(o.rotation).normalize(),
                scale: extents(&o.shape),
            };
            gizmos.cube(t, class_color(o.class).lighter(0.25));
        }
    }
    if state.overlays.goals {
        for o in scene.objects.iter().filter(|o| matches!(o.class, Class::Goal | Class::RequestedShelf)) {
            let size = extents(&o.shape);
            let radius = 0.6 * size.x.max(size.z);
            let ground = Vec3::new(o.position[0], 0.03, o.position[2]);
            let color = if o.class == Class::Goal { Color::srgb(0.2, 1.0, 0.3) } else { Color::srgb(1.0, 0.2, 0.2) };
            gizmos.circle(Isometry3d::new(ground, flat), radius, color);
            gizmos.circle(Isometry3d::new(ground, flat), radius * 0.8, color);
        }
    }
    if let Some(i) = me {
        let o = &scene.objects[i];
        let size = extents(&o.shape);
        let ground = Vec3::new(o.position[0], 0.04, o.position[2]);
        gizmos.circle(Isometry3d::new(ground, flat), 0.75 * size.x.max(size.z), Color::srgb(1.0, 0.95, 0.2));
        if state.overlays.lidar {
            for ray in geometry::lidar(scene, i, 32, geometry::lidar_range(o)) {
                let color = if ray.hit { Color::srgb(1.0, 0.25, 0.2) } else { Color::srgba(0.9, 0.9, 0.9, 0.5) };
                gizmos.line(ray.from, ray.to, color);
            }
        }
    }
}

/// Name of a discrete action under `controls`' meanings.
fn action_name(controls: Option<Controls>, a: &crate::replay::ActionLog) -> String {
    use crate::replay::ActionLog;
    const GRID: [&str; 5] = ["NOOP", "FORWARD", "LEFT", "RIGHT", "TOGGLE_LOAD"];
    const LANES: [&str; 5] = ["LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER"];
    let name = |i: i64| {
        let table = match controls {
            Some(Controls::Grid) => Some(GRID),
            Some(Controls::Lanes) => Some(LANES),
            _ => None,
        };
        table.and_then(|t| usize::try_from(i).ok().and_then(|i| t.get(i).copied())).map_or_else(|| i.to_string(), str::to_owned)
    };
    match a {
        ActionLog::None => "-".into(),
        ActionLog::Discrete(i) => name(*i),
        ActionLog::MultiDiscrete(v) => v.iter().map(|&i| name(i)).collect::<Vec<_>>().join(" "),
        ActionLog::Continuous(v) => format!("[{}]", v.iter().map(|x| format!("{x:+.2}")).collect::<Vec<_>>().join(", ")),
    }
}

/// What the discrete actions of a recording mean, judged from its scene.
fn meanings(scene: &Snapshot) -> Option<Controls> {
    let space = crate::env::Space::discrete(5).ok()?;
    Controls::for_space(&space, scene).filter(|c| matches!(c, Controls::Grid | Controls::Lanes))
}

/// A number in a few characters: whole numbers as such, others to 2 decimals.
fn short(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v:.2}") }
}

fn hud_text(state: &Player) -> String {
    use std::fmt::Write;
    let rec = state.recording();
    let ep = state.current();
    let scene = state.shown();
    let mut s = String::new();
    let _ = writeln!(s, "{} on {} | {} of {}", rec.policy, rec.env, ep.label, state.episodes.len());
    let play = if state.takeover().is_some() {
        "TAKEOVER".to_owned()
    } else if state.playing {
        format!("playing {}x", state.speed())
    } else {
        format!("paused ({}x)", state.speed())
    };
    let agent = followed(state).map_or_else(|| "-".into(), |_| state.follow.to_string());
    let _ = writeln!(
        s,
        "step {}/{} | t = {:.1} s | {play} | camera {} (agent {agent})",
        state.scene,
        ep.scenes() - 1,
        scene.time_s,
        state.camera.name()
    );
    let _ = writeln!(s, "return so far {:.2}", ep.return_at(state.scene));
    if let Some(step) = ep.step(state.scene) {
        let names = meanings(scene);
        for (i, (a, r)) in step.actions.iter().zip(&step.rewards).enumerate() {
            let who = rec.agents.get(i).map_or("agent", String::as_str);
            let _ = writeln!(s, "  {who}: {} -> reward {r:+.2}", action_name(names, a));
        }
        if !step.events.is_empty() {
            let ev: Vec<String> = step.events.iter().map(|(a, k, v)| format!("{k}={} (agent {a})", short(*v))).collect();
            let _ = writeln!(s, "  events: {}", ev.join(", "));
        }
    }
    if let Some(c) = state.takeover() {
        let _ = writeln!(s, "DRIVING agent 0: {} | T: finish and save", c.help());
    }
    let on = |b: bool| if b { "on" } else { "off" };
    let _ = write!(
        s,
        "Space play | Left/Right step (Shift: 10) | Up/Down speed | [ ] episode | C camera | Tab agent | T take over\n\
         L lidar {} | G goals {} | B boxes {} | H panel | F12 screenshot | Esc quit | free camera: drag, scroll, WASD",
        on(state.overlays.lidar),
        on(state.overlays.goals),
        on(state.overlays.boxes)
    );
    s
}

fn update_hud(state: NonSend<Player>, mut hud: Query<(&mut Text, &mut Visibility), With<Hud>>, mut fill: Query<&mut Node, With<BarFill>>) {
    if let Ok((mut text, mut visibility)) = hud.single_mut() {
        let wanted = hud_text(&state);
        if text.0 != wanted {
            text.0 = wanted;
        }
        *visibility = if state.overlays.hud { Visibility::Inherited } else { Visibility::Hidden };
    }
    if let Ok(mut node) = fill.single_mut() {
        let last = (state.current().scenes() - 1).max(1) as f32;
        node.width = Val::Percent(100.0 * state.scene as f32 / last);
    }
}

/// Saves the primary window to `path` as PNG, then exits if `exit`.
fn take_screenshot(commands: &mut Commands, path: PathBuf, exit: bool) {
    commands.spawn(Screenshot::primary_window()).observe(move |event: On<ScreenshotCaptured>, mut quit: MessageWriter<AppExit>| {
        match rgb_of(&event.image).map_err(RenderError::Readback).and_then(|rgb| write_rgb(&path, &rgb)) {
            Ok(()) => say(&format!("screenshot saved to {}", path.display())),
            Err(e) => say(&format!("screenshot: {e}")),
        }
        if exit {
            quit.write(AppExit::Success);
        }
    });
}

/// An 8-bit RGB copy of a captured window image (RGBA or BGRA).
fn rgb_of(image: &Image) -> Result<RgbImage, String> {
    let (width, height) = (image.width(), image.height());
    let data = image.data.as_ref().ok_or("the screenshot has no pixels")?;
    let bgra = match image.texture_descriptor.format {
        TextureFormat::Bgra8Unorm | TextureFormat::Bgra8UnormSrgb => true,
        TextureFormat::Rgba8Unorm | TextureFormat::Rgba8UnormSrgb => false,
        other => return Err(format!("screenshot format {other:?} is not 8-bit RGBA or BGRA")),
    };
    if data.len() < 4 * (width * height) as usize {
        return Err(format!("screenshot of {} bytes is too short for {width}x{height}", data.len()));
    }
    let pixels = data
        .chunks_exact(4)
        .take((width * height) as usize)
        .flat_map(|p| if bgra { [p[2], p[1], p[0]] } else { [p[0], p[1], p[2]] })
        .collect();
    Ok(RgbImage { width, height, pixels })
}

/// After scripted keys: the screenshot and exit.
fn run_script(mut script: ResMut<Script>, mut state: NonSendMut<Player>, mut commands: Commands, mut exit: MessageWriter<AppExit>) {
    if script.frame <= WARM_UP_FRAMES || !script.keys.is_empty() || script.shot_taken {
        return;
    }
    script.idle += 1;
    if script.idle < SETTLE_FRAMES {
        return;
    }
    script.shot_taken = true;
    match script.screenshot.clone() {
        Some(path) => take_screenshot(&mut commands, path, script.exit),
        None if script.exit => {
            state.finish();
            report(&mut state);
            exit.write(AppExit::Success);
        }
        None => {}
    }
}

/// Closing the window ends a takeover in progress, saving its branch.
fn finish_on_close(mut closed: MessageReader<WindowCloseRequested>, mut state: NonSendMut<Player>) {
    if closed.read().count() > 0 {
        state.finish();
        report(&mut state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_mean_playback_commands_or_driving_in_a_takeover() {
        assert_eq!(command_for(KeyCode::ArrowRight, false, false), Some(Command::Step(1)));
        assert_eq!(command_for(KeyCode::ArrowLeft, true, false), Some(Command::Step(-10)));
        assert_eq!(command_for(KeyCode::ArrowRight, false, true), Some(Command::Drive(Drive::Right)));
        assert_eq!(command_for(KeyCode::Space, false, false), Some(Command::TogglePlay));
        assert_eq!(command_for(KeyCode::Space, false, true), Some(Command::Drive(Drive::Act)));
        assert_eq!(command_for(KeyCode::Digit3, false, true), Some(Command::Drive(Drive::Index(3))));
        assert_eq!(command_for(KeyCode::KeyT, false, true), Some(Command::Takeover), "T ends a takeover");
        assert_eq!(command_for(KeyCode::KeyC, false, true), Some(Command::CycleCamera), "views change during a takeover");
        assert_eq!(command_for(KeyCode::KeyQ, false, false), None);
        for name in
            ["space", "left", "right", "up", "down", "t", "c", "tab", "l", "g", "b", "h", "]", "[", "3", ".", "x", "none", "end", "home"]
        {
            assert!(key_named(name).is_some(), "{name}");
        }
        assert_eq!(key_named("Right"), Some(KeyCode::ArrowRight));
        assert!(key_named("q").is_none() && key_named("nonsense").is_none());
    }

    #[test]
    fn screenshots_convert_bgra_and_rgba() {
        use bevy::asset::RenderAssetUsages;
        use bevy::render::render_resource::{Extent3d, TextureDimension};
        let size = Extent3d { width: 2, height: 1, depth_or_array_layers: 1 };
        let data = vec![10, 20, 30, 255, 40, 50, 60, 255];
        let bgra = Image::new(size, TextureDimension::D2, data.clone(), TextureFormat::Bgra8UnormSrgb, RenderAssetUsages::all());
        assert_eq!(rgb_of(&bgra).expect("bgra").pixels, [30, 20, 10, 60, 50, 40]);
        let rgba = Image::new(size, TextureDimension::D2, data, TextureFormat::Rgba8Unorm, RenderAssetUsages::all());
        assert_eq!(rgb_of(&rgba).expect("rgba").pixels, [10, 20, 30, 40, 50, 60]);
    }
}
