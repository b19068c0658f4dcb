//! The offscreen renderer against the label rasteriser: the GPU's pixels and the CPU's
//! masks must agree, frame by frame, through the pipelined readback.

use synthgym::render::image::write_rgb;
use synthgym::render::{Appearance, CameraView, Frame, LabelImage, Lighting, Quality, Rasterizer, RenderScene, Renderer, RgbImage};
use synthgym::snapshot::{Class, Snapshot};

const SKY: [f32; 3] = [1.0, 0.0, 1.0];

fn warehouse_snapshot() -> anyhow::Result<Snapshot> {
    let mut env = synthgym::scenes::registry().make("warehouse-grid-tiny-2ag-v0", &Default::default())?;
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(3), None, &mut obs)?;
    let mut snap = Snapshot::default();
    assert!(env.snapshot(&mut snap));
    // Without the floor, the sky shows between objects.
    snap.objects.retain(|o| o.class != Class::Floor);
    Ok(snap)
}

fn frame(snap: &Snapshot, camera: CameraView) -> Frame {
    Frame {
        scene: RenderScene::from_snapshot(snap, &Appearance::default()),
        camera,
        lighting: Lighting { sky: SKY, ..Lighting::default() },
    }
}

/// Fraction of pixels where "the GPU drew sky" and "the labels say background" agree.
fn agreement(image: &RgbImage, labels: &LabelImage) -> f64 {
    let sky = [255u8, 0, 255];
    let mut same = 0;
    for y in 0..image.height {
        for x in 0..image.width {
            let background = labels.instance[(y * image.width + x) as usize] == 0;
            if (image.pixel(x, y) == sky) == background {
                same += 1;
            }
        }
    }
    same as f64 / (image.width * image.height) as f64
}

#[test]
fn gpu_pixels_agree_with_label_masks_through_pipelined_readback() -> anyhow::Result<()> {
    let snap = warehouse_snapshot()?;
    let (w, h) = (96, 64);
    let top = CameraView { eye: [5.0, 14.0, 5.5], target: [5.0, 0.0, 5.5], up: [0.0, 0.0, -1.0], fov_y_deg: 60.0, near: 0.1 };
    let oblique = CameraView { eye: [-2.0, 7.0, 14.0], target: [5.0, 0.0, 5.0], up: [0.0, 1.0, 0.0], fov_y_deg: 50.0, near: 0.1 };
    let frames = [frame(&snap, top), frame(&snap, oblique), frame(&snap, top), frame(&snap, oblique)];
    let mut raster = Rasterizer::default();
    let labels: Vec<LabelImage> = frames.iter().map(|f| raster.rasterize(&f.scene, &f.camera, w, h)).collect();
    assert!(labels[0].instance.iter().any(|&i| i == 0) && labels[0].instance.iter().any(|&i| i > 0));

    let mut renderer = Renderer::new(w, h, Quality::Fast)?;
    let mut images = vec![None; frames.len()];
    renderer.render_all(&frames, |i, image| {
        images[i] = Some(image);
        Ok::<(), anyhow::Error>(())
    })?;
    let dir = std::env::temp_dir().join("synthgym-render-test");
    for (i, (image, own_labels)) in images.iter().zip(&labels).enumerate() {
        let image = image.as_ref().expect("every frame comes back");
        write_rgb(&dir.join(format!("frame{i}.png")), image)?;
        let own = agreement(image, own_labels);
        let other = agreement(image, &labels[(i + 1) % 2]);
        assert!(own > 0.985, "frame {i}: GPU and labels agree on only {own:.4} of pixels");
        assert!(other < own - 0.05, "frame {i} matches the other camera's labels too well ({other:.4} vs {own:.4})");
    }
    // A single synchronous render gives the same pixels as the batch.
    let again = renderer.render(&frames[1])?;
    assert_eq!(Some(&again), images[1].as_ref());
    Ok(())
}
