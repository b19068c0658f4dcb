//! The offscreen renderer: a bevy app with the PBR pipeline and no window, pumped by
//! hand, drawing [`RenderScene`]s into an image that is read back to the CPU.
//!
//! Start-up costs a second or two (device, pipelines), so one [`Renderer`] is meant to
//! draw a whole dataset or episode. Reading an image back takes one extra frame; the
//! batch API ([`Renderer::render_all`]) overlaps that latency with the next frame.
//!
//! Each frame, every part is transformed into world space on the CPU and merged into one
//! mesh per surface finish (roughness and metallic), with the object colours as vertex
//! colours: a frame is a handful of draw calls whatever the object count, and colours
//! are exact without a material per object. On Mesa's software rasteriser (2 cores,
//! 128², a warehouse of ~110 objects) a frame cost 9.2 ms with one entity and material
//! per object, 8.2 ms merged, and 3.1 ms merged with the `fast` preset's Lambert shader
//! instead of bevy's PBR one, which dominates the cost there (even with `unlit` set).

use std::collections::VecDeque;

use bevy::app::{SubApps, TerminalCtrlCHandlerPlugin};
use bevy::asset::RenderAssetUsages;
use bevy::asset::uuid_handle;
use bevy::camera::visibility::NoFrustumCulling;
use bevy::camera::{Camera, Camera3d, ClearColorConfig, Projection, RenderTarget};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::image::Image;
use bevy::light::{CascadeShadowConfigBuilder, DirectionalLight, DirectionalLightShadowMap, GlobalAmbientLight};
use bevy::mesh::{Indices, Mesh, Mesh3d, PrimitiveTopology};
use bevy::pbr::{MaterialPlugin, MeshMaterial3d, StandardMaterial};
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::render_resource::{AsBindGroup, ShaderType};
use bevy::render::render_resource::{Extent3d, PollType, TextureDimension, TextureFormat, TextureUsages};
use bevy::render::renderer::RenderDevice;
use bevy::render::settings::{Backends, RenderCreation, WgpuSettings};
use bevy::render::view::Msaa;
use bevy::shader::{Shader, ShaderRef};
use bevy::window::{ExitCondition, WindowPlugin};

use super::camera::CameraView;
use super::error::RenderError;
use super::mesh::{TriMesh, unit_meshes};
use super::style::{Material, Part, RenderScene};

/// Image quality presets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// Lambert shading (vertex colours) under one sun and ambient light; no shadows, no
    /// anti-aliasing.
    #[default]
    Fast,
    /// PBR with cascaded sun shadows, 4x MSAA and ACES tone mapping.
    Pbr,
}

/// Light for one image.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lighting {
    /// Direction the sunlight travels (pointing down into the scene).
    pub sun_direction: [f32; 3],
    /// Sun illuminance in lux.
    pub sun_lux: f32,
    /// Sun colour, sRGB.
    pub sun_color: [f32; 3],
    /// Ambient light brightness (cd/m²).
    pub ambient: f32,
    /// Background (sky) colour, sRGB.
    pub sky: [f32; 3],
}

impl Default for Lighting {
    fn default() -> Self {
        Lighting {
            sun_direction: [-0.4, -1.0, -0.3],
            sun_lux: 6_000.0,
            sun_color: [1.0, 0.98, 0.95],
            ambient: 600.0,
            sky: [0.62, 0.72, 0.85],
        }
    }
}

/// One image to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// What to draw.
    pub scene: RenderScene,
    /// From where.
    pub camera: CameraView,
    /// Under which light.
    pub lighting: Lighting,
}

/// An 8-bit RGB image, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `3 * width * height` bytes, sRGB.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// The colour at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = 3 * (y * self.width + x) as usize;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }
}

/// Images read back from the GPU, oldest first (filled by an observer).
#[derive(Resource, Default)]
struct Captured(VecDeque<Vec<u8>>);

/// The `fast` preset's material: Lambert shading under one sun and ambient light
/// (`fast.wgsl`); the PBR shader costs a software rasteriser several times more.
#[derive(Asset, TypePath, AsBindGroup, Clone, Debug)]
struct FastMaterial {
    #[uniform(0)]
    light: FastLight,
}

/// The uniform of [`FastMaterial`].
#[derive(Clone, Copy, Debug, Default, ShaderType)]
struct FastLight {
    direction: Vec4,
    sun: Vec4,
    ambient: Vec4,
}

impl FastLight {
    /// Roughly the brightness the PBR preset gives the same light at bevy's default exposure.
    fn of(l: &Lighting) -> FastLight {
        let d = Vec3::from_array(l.sun_direction).normalize_or(Vec3::NEG_Y);
        let sun = Color::srgb(l.sun_color[0], l.sun_color[1], l.sun_color[2]).to_linear();
        let (k, a) = (l.sun_lux / 8_000.0, 0.15 + l.ambient / 2_000.0);
        FastLight {
            direction: d.extend(0.0),
            sun: Vec4::new(sun.red * k, sun.green * k, sun.blue * k, 1.0),
            ambient: Vec4::new(a, a, a, 1.0),
        }
    }
}

const FAST_SHADER: Handle<Shader> = uuid_handle!("7d3f54a2-58a1-4d7e-9d0e-3b8f5c1a9e61");

impl bevy::pbr::Material for FastMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(FAST_SHADER)
    }
}

/// Surface finishes the merged meshes are grouped by: 3 levels of roughness and 2 of
/// metallic (colour varies per vertex, so it needs no group of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Finish(u8, u8);

impl Finish {
    fn of(m: &Material) -> Finish {
        Finish((m.roughness.clamp(0.0, 1.0) * 2.0).round() as u8, (m.metallic.clamp(0.0, 1.0)).round() as u8)
    }

    fn material(self) -> StandardMaterial {
        StandardMaterial {
            base_color: Color::WHITE,
            perceptual_roughness: 0.35 + 0.3 * f32::from(self.0),
            metallic: 0.4 * f32::from(self.1),
            ..StandardMaterial::default()
        }
    }
}

/// One merged mesh entity per finish.
struct Batch {
    finish: Finish,
    entity: Entity,
    mesh: Handle<Mesh>,
}

/// Vertex arrays of one merged mesh (built each frame, then moved into bevy's mesh).
#[derive(Default)]
struct MergedMesh {
    positions: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    colors: Vec<[f32; 4]>,
    indices: Vec<u32>,
}

/// The scene's entities in a bevy world: one merged mesh per surface finish, rebuilt for
/// every scene shown. Shared by the offscreen [`Renderer`] and the replay viewer.
pub(crate) struct SceneMeshes {
    quality: Quality,
    meshes: Vec<TriMesh>,
    batches: Vec<Batch>,
    fast: Handle<FastMaterial>,
}

/// Adds the `fast` preset's material to an app (before it is finished).
pub(crate) fn add_materials(app: &mut App) {
    app.add_plugins(MaterialPlugin::<FastMaterial>::default());
}

impl SceneMeshes {
    /// Registers the `fast` shader and material in `world` (whose app ran [`add_materials`]).
    pub(crate) fn new(world: &mut World, quality: Quality) -> Result<SceneMeshes, RenderError> {
        // Inserting under a fixed id cannot fail for UUID handles.
        world
            .resource_mut::<Assets<Shader>>()
            .insert(&FAST_SHADER, Shader::from_wgsl(include_str!("fast.wgsl"), "synthgym/render/fast.wgsl"))
            .map_err(|e| RenderError::Readback(format!("registering the fast shader: {e}")))?;
        let fast = world.resource_mut::<Assets<FastMaterial>>().add(FastMaterial { light: FastLight::default() });
        Ok(SceneMeshes { quality, meshes: unit_meshes(), batches: Vec::new(), fast })
    }

    /// Sets the light of the `fast` material (the PBR preset is lit by the world's lights).
    pub(crate) fn set_light(&self, world: &mut World, lighting: &Lighting) {
        if self.quality == Quality::Fast
            && let Some(mut m) = world.resource_mut::<Assets<FastMaterial>>().get_mut(&self.fast)
        {
            m.light = FastLight::of(lighting);
        }
    }

    /// Replaces the drawn scene with `scene`, leaving out parts wholly outside `frustum`
    /// (planes as [`CameraView::frustum_planes`] gives them) when one is given.
    pub(crate) fn show(&mut self, world: &mut World, scene: &RenderScene, frustum: Option<&[Vec4; 5]>) {
        let mut merged: std::collections::BTreeMap<Finish, MergedMesh> = Default::default();
        for part in &scene.parts {
            // Parts wholly outside the view would only cost vertex shading.
            let radius = 0.5 * part.transform.scale.length();
            let centre = part.transform.translation;
            if frustum.is_some_and(|planes| planes.iter().any(|p| p.truncate().dot(centre) + p.w < -radius)) {
                continue;
            }
            // The fast shader ignores roughness and metallic: one batch does.
            let finish = if self.quality == Quality::Fast { Finish(0, 0) } else { Finish::of(&part.material) };
            merge_part(merged.entry(finish).or_default(), &self.meshes[part.mesh.index()], part);
        }
        for batch in self.batches.iter().filter(|b| !merged.contains_key(&b.finish)) {
            world.entity_mut(batch.entity).insert(Visibility::Hidden);
        }
        for (finish, mesh) in merged {
            let asset = bevy_mesh(mesh);
            match self.batches.iter().find(|b| b.finish == finish) {
                Some(batch) => {
                    let (entity, handle) = (batch.entity, batch.mesh.clone());
                    if let Some(mut m) = world.resource_mut::<Assets<Mesh>>().get_mut(&handle) {
                        *m = asset;
                    }
                    world.entity_mut(entity).insert(Visibility::Visible);
                }
                None => {
                    let handle = world.resource_mut::<Assets<Mesh>>().add(asset);
                    // The mesh changes every frame, so its bounds would be stale: never cull.
                    let mut entity = world.spawn((Mesh3d(handle.clone()), Transform::IDENTITY, Visibility::Visible, NoFrustumCulling));
                    match self.quality {
                        Quality::Fast => entity.insert(MeshMaterial3d(self.fast.clone())),
                        Quality::Pbr => {
                            let material = entity.world_scope(|w| w.resource_mut::<Assets<StandardMaterial>>().add(finish.material()));
                            entity.insert(MeshMaterial3d(material))
                        }
                    };
                    let entity = entity.id();
                    self.batches.push(Batch { finish, entity, mesh: handle });
                }
            }
        }
    }
}

/// An offscreen bevy renderer of a fixed image size and quality.
pub struct Renderer {
    apps: SubApps,
    width: u32,
    height: u32,
    quality: Quality,
    adapter: String,
    scene: SceneMeshes,
    camera: Entity,
    sun: Entity,
}

/// Looks for a Vulkan adapter the way bevy will, so that a machine without one gets an
/// error instead of bevy's panic. Returns the adapter's name.
pub(crate) fn probe_adapter() -> Result<String, RenderError> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = wgpu::Backends::VULKAN;
    let instance = wgpu::Instance::new(desc);
    let adapter = bevy::tasks::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
        .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
    let info = adapter.get_info();
    Ok(format!("{} ({:?}, {})", info.name, info.device_type, info.driver))
}

fn bevy_mesh(merged: MergedMesh) -> Mesh {
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::RENDER_WORLD)
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, merged.positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, merged.normals)
        // bevy multiplies vertex colours (linear RGBA) with the material's white base.
        .with_inserted_attribute(Mesh::ATTRIBUTE_COLOR, merged.colors)
        .with_inserted_indices(Indices::U32(merged.indices))
}

/// Appends `part`'s mesh, in world space and coloured, to `out`.
fn merge_part(out: &mut MergedMesh, mesh: &TriMesh, part: &Part) {
    let base = out.positions.len() as u32;
    let t = &part.transform;
    let inv_scale = Vec3::ONE / t.scale.max(Vec3::splat(1e-6));
    let color = Color::srgb(part.material.color[0], part.material.color[1], part.material.color[2]).to_linear();
    out.positions.extend(mesh.positions.iter().map(|&p| t.transform_point(Vec3::from_array(p)).to_array()));
    out.normals.extend(mesh.normals.iter().map(|&n| (t.rotation * (Vec3::from_array(n) * inv_scale)).normalize_or_zero().to_array()));
    out.colors.extend(mesh.shades.iter().map(|&s| {
        // Shades darken in sRGB terms, like the nominal palette they multiply.
        let shade = Color::srgb(s, s, s).to_linear().red;
        [color.red * shade, color.green * shade, color.blue * shade, 1.0]
    }));
    out.indices.extend(mesh.indices.iter().map(|i| i + base));
}

impl Renderer {
    /// Starts a renderer for `width` x `height` images.
    pub fn new(width: u32, height: u32, quality: Quality) -> Result<Renderer, RenderError> {
        if width == 0 || height == 0 || width > 4096 || height > 4096 {
            return Err(RenderError::Size { width, height });
        }
        let adapter = probe_adapter()?;
        let mut app = App::new();
        let plugins = DefaultPlugins
            .set(WindowPlugin { primary_window: None, exit_condition: ExitCondition::DontExit, ..default() })
            .set(RenderPlugin {
                render_creation: RenderCreation::Automatic(Box::new(WgpuSettings { backends: Some(Backends::VULKAN), ..default() })),
                // Every pipeline is ready for the frame that first needs it.
                synchronous_pipeline_compilation: true,
                ..default()
            })
            .disable::<TerminalCtrlCHandlerPlugin>();
        // A build with the viewer has the window system's event loop in the default
        // plugins; offscreen there is no window (and maybe no display) to open.
        #[cfg(feature = "viewer")]
        let plugins = plugins.disable::<bevy::winit::WinitPlugin>();
        app.add_plugins(plugins);
        add_materials(&mut app);
        app.init_resource::<Captured>();
        if quality == Quality::Pbr {
            app.insert_resource(DirectionalLightShadowMap { size: 1024 });
        }
        app.finish();
        app.cleanup();
        let mut apps = std::mem::take(app.sub_apps_mut());
        let world = apps.main.world_mut();

        let mut target = Image::new_uninit(
            Extent3d { width, height, depth_or_array_layers: 1 },
            TextureDimension::D2,
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::RENDER_WORLD,
        );
        target.texture_descriptor.usage |= TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC;
        let target = world.resource_mut::<Assets<Image>>().add(target);

        let scene = SceneMeshes::new(world, quality)?;
        let camera = world
            .spawn((
                Camera3d::default(),
                Camera { clear_color: ClearColorConfig::Custom(Color::BLACK), ..default() },
                RenderTarget::Image(target.clone().into()),
                Projection::Perspective(default()),
                match quality {
                    Quality::Fast => Msaa::Off,
                    Quality::Pbr => Msaa::Sample4,
                },
                match quality {
                    Quality::Fast => Tonemapping::None,
                    Quality::Pbr => Tonemapping::AcesFitted,
                },
                Transform::default(),
            ))
            .id();
        let mut sun = DirectionalLight { shadow_maps_enabled: quality == Quality::Pbr, ..default() };
        sun.shadow_depth_bias = 0.04;
        let sun = world
            .spawn((
                sun,
                CascadeShadowConfigBuilder { num_cascades: 2, first_cascade_far_bound: 12.0, maximum_distance: 80.0, ..default() }.build(),
                Transform::default(),
            ))
            .id();
        world.spawn(Readback::texture(target)).observe(|event: On<ReadbackComplete>, mut captured: ResMut<Captured>| {
            captured.0.push_back(event.data.clone());
        });

        let mut renderer = Renderer { apps, width, height, quality, adapter, scene, camera, sun };
        // The first frames prepare the target and pipelines; wait until images flow.
        for _ in 0..8 {
            renderer.update()?;
            if !renderer.captured().is_empty() {
                renderer.captured().clear();
                return Ok(renderer);
            }
        }
        Err(RenderError::Readback("no image came back from the GPU after 8 frames".into()))
    }

    /// The adapter in use (name, type, driver).
    pub fn adapter(&self) -> &str {
        &self.adapter
    }

    /// Image width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Image height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The quality preset.
    pub fn quality(&self) -> Quality {
        self.quality
    }

    fn captured(&mut self) -> &mut VecDeque<Vec<u8>> {
        &mut self.apps.main.world_mut().resource_mut::<Captured>().into_inner().0
    }

    /// Runs one frame and waits for the GPU to finish it.
    fn update(&mut self) -> Result<(), RenderError> {
        self.apps.update();
        self.apps
            .main
            .world()
            .resource::<RenderDevice>()
            .wgpu_device()
            .poll(PollType::Wait { submission_index: None, timeout: None })
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        Ok(())
    }

    /// Draws one frame and returns its image (two frames of latency: prefer
    /// [`Renderer::render_all`] for many).
    pub fn render(&mut self, frame: &Frame) -> Result<RgbImage, RenderError> {
        let mut out = None;
        self.render_all(std::iter::once(frame), |_, image| {
            out = Some(image);
            Ok::<(), RenderError>(())
        })?;
        out.ok_or_else(|| RenderError::Readback("the frame's image did not come back".into()))
    }

    /// Draws `frames` in order, handing each image to `sink` with its index as soon as it
    /// is read back (one frame behind the GPU). Stops at the first error of `sink`.
    pub fn render_all<'a, E: From<RenderError>>(
        &mut self,
        frames: impl IntoIterator<Item = &'a Frame>,
        mut sink: impl FnMut(usize, RgbImage) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut submitted = 0;
        for frame in frames {
            self.stage(frame);
            self.update()?;
            if submitted > 0 {
                sink(submitted - 1, self.take_image()?)?;
            } else {
                // The first update delivers the last frame of any earlier call (or of the
                // warm-up), which nobody asked for.
                self.captured().clear();
            }
            submitted += 1;
        }
        if submitted > 0 {
            self.update()?;
            sink(submitted - 1, self.take_image()?)?;
        }
        Ok(())
    }

    /// The one image that the last update read back.
    fn take_image(&mut self) -> Result<RgbImage, RenderError> {
        let (width, height) = (self.width, self.height);
        let captured = self.captured();
        if captured.len() != 1 {
            let n = captured.len();
            captured.clear();
            return Err(RenderError::Readback(format!("expected one image from the last frame, got {n}")));
        }
        let data = captured.pop_front().unwrap_or_default();
        // Rows are padded to 256 bytes for the copy.
        let row = 4 * width as usize;
        let padded = row.div_ceil(256) * 256;
        if data.len() < padded * (height as usize - 1) + row {
            return Err(RenderError::Readback(format!("image of {} bytes is too short", data.len())));
        }
        let mut pixels = Vec::with_capacity(3 * (width * height) as usize);
        for y in 0..height as usize {
            for px in data[y * padded..y * padded + row].chunks_exact(4) {
                pixels.extend_from_slice(&px[..3]);
            }
        }
        Ok(RgbImage { width, height, pixels })
    }

    /// Moves the camera, light and part entities to show `frame`.
    fn stage(&mut self, frame: &Frame) {
        let (width, height) = (self.width, self.height);
        let world = self.apps.main.world_mut();
        let l = &frame.lighting;
        if let Some(mut camera) = world.get_mut::<Camera>(self.camera) {
            camera.clear_color = ClearColorConfig::Custom(Color::srgb(l.sky[0], l.sky[1], l.sky[2]));
        }
        world.entity_mut(self.camera).insert((frame.camera.transform(), Projection::Perspective(frame.camera.projection(width, height))));
        let dir = Vec3::from_array(l.sun_direction).normalize_or(Vec3::NEG_Y);
        let up = if dir.cross(Vec3::Y).length_squared() < 1e-6 { Vec3::Z } else { Vec3::Y };
        world.entity_mut(self.sun).insert(Transform::default().looking_to(dir, up));
        if let Some(mut sun) = world.get_mut::<DirectionalLight>(self.sun) {
            sun.illuminance = l.sun_lux;
            sun.color = Color::srgb(l.sun_color[0], l.sun_color[1], l.sun_color[2]);
        }
        world.insert_resource(GlobalAmbientLight { brightness: l.ambient, ..default() });
        self.scene.set_light(world, l);
        let frustum = frame.camera.frustum_planes(width, height);
        self.scene.show(world, &frame.scene, Some(&frustum));
    }
}
