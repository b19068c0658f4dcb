//! Camera observations for RL: an env wrapper whose observation is the rendered image,
//! and the `rgb_array` frame of any env, both through one [`Renderer`].

use super::camera::CameraView;
use super::error::RenderError;
use super::randomize::{self, CameraMode};
use super::renderer::{Frame, Lighting, Quality, Renderer, RgbImage};
use super::style::{Appearance, RenderScene};
use crate::env::{Action, BoxSpace, Env, EnvError, Info, ResetOptions, Space, StepOutcome, check_obs_len};
use crate::snapshot::Snapshot;
use crate::util::seed::rng_from_seed;

/// Renders an env's current scene from a camera placed by a [`CameraMode`] (nominal
/// colours and light, no randomisation: the same state always gives the same picture).
pub struct SceneCamera {
    renderer: Renderer,
    mode: CameraMode,
    snapshot: Snapshot,
}

impl SceneCamera {
    /// A camera of `width` x `height` pixels in `mode` (`Random` is taken as `Fixed`).
    pub fn new(width: u32, height: u32, quality: Quality, mode: CameraMode) -> Result<Self, RenderError> {
        let mode = if mode == CameraMode::Random { CameraMode::Fixed } else { mode };
        Ok(SceneCamera { renderer: Renderer::new(width, height, quality)?, mode, snapshot: Snapshot::default() })
    }

    /// Image width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.renderer.width(), self.renderer.height())
    }

    /// The camera that would photograph `snapshot`.
    pub fn camera_for(&self, snapshot: &Snapshot) -> CameraView {
        randomize::camera(self.mode, snapshot, false, &mut rng_from_seed(0))
    }

    /// The image of `env`'s current state, or `None` if it has nothing to show.
    pub fn render(&mut self, env: &dyn Env) -> Result<Option<RgbImage>, RenderError> {
        if !env.snapshot(&mut self.snapshot) {
            return Ok(None);
        }
        let frame = Frame {
            scene: RenderScene::from_snapshot(&self.snapshot, &Appearance::default()),
            camera: self.camera_for(&self.snapshot),
            lighting: Lighting::default(),
        };
        self.renderer.render(&frame).map(Some)
    }
}

/// An env whose observation is its camera image: `Box(0, 1, (height, width, 3))`, RGB
/// in `[0, 1]`, row-major (the layout of Gymnasium's pixel observations).
pub struct CameraObservation {
    inner: Box<dyn Env>,
    camera: SceneCamera,
    space: Space,
    scratch: Vec<f32>,
}

impl CameraObservation {
    /// Wraps `inner`, rendering `width` x `height` images.
    pub fn new(inner: Box<dyn Env>, camera: SceneCamera) -> Result<Self, EnvError> {
        let (w, h) = (camera.renderer.width() as usize, camera.renderer.height() as usize);
        let space = Space::Box(BoxSpace::uniform(0.0, 1.0, vec![h, w, 3])?);
        let scratch = vec![0.0; inner.observation_space().flat_dim()];
        Ok(CameraObservation { inner, camera, space, scratch })
    }

    fn observe(&mut self, obs: &mut [f32]) -> Result<(), EnvError> {
        let image = self
            .camera
            .render(self.inner.as_ref())
            .map_err(|e| EnvError::InvalidConfig { what: "camera".into(), reason: e.to_string() })?
            .ok_or_else(|| EnvError::InvalidConfig { what: "camera".into(), reason: "this env has no scene to render".into() })?;
        for (o, &p) in obs.iter_mut().zip(&image.pixels) {
            *o = f32::from(p) / 255.0;
        }
        Ok(())
    }
}

impl Env for CameraObservation {
    fn observation_space(&self) -> &Space {
        &self.space
    }

    fn action_space(&self) -> &Space {
        self.inner.action_space()
    }

    fn reset(&mut self, seed: Option<u64>, options: Option<&ResetOptions>, obs: &mut [f32]) -> Result<Info, EnvError> {
        check_obs_len(&self.space, obs)?;
        let info = self.inner.reset(seed, options, &mut self.scratch)?;
        self.observe(obs)?;
        Ok(info)
    }

    fn step(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepOutcome, EnvError> {
        check_obs_len(&self.space, obs)?;
        let outcome = self.inner.step(action, &mut self.scratch)?;
        self.observe(obs)?;
        Ok(outcome)
    }

    fn snapshot(&self, out: &mut Snapshot) -> bool {
        self.inner.snapshot(out)
    }
}
