//! Criterion benchmarks of environment stepping: one env through the registry's
//! wrappers (CartPole, the grid warehouse and the rapier warehouse), and vector envs
//! at 1, 8 and 64 envs on the serial and threaded backends.
//! `synthgym bench` measures the same things end to end and prints steps/s.
//! Also: RL building blocks (GAE, MLP forward/update) and a classifier training step.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use synthgym::env::vector::{ActionBuffer, AutoresetMode, Backend, action_width, make_vec};
use synthgym::env::{Env, MakeOptions};
use synthgym::scenes::registry;
use synthgym::util::seed::rng_from_seed;

const ID: &str = "cartpole-v1";

fn single_env(c: &mut Criterion) {
    let mut group = c.benchmark_group("env_step");
    group.throughput(Throughput::Elements(1));
    for id in [ID, "warehouse-grid-tiny-2ag-v0", "warehouse-physics-small-4ag-v0"] {
        let Ok(mut env) = registry().make(id, &MakeOptions::default()) else { panic!("{id} is registered") };
        let space = env.action_space().clone();
        let Ok(mut actions) = ActionBuffer::new(&space, 1024) else { panic!("{id}: no action buffer") };
        actions.sample(&space, &mut rng_from_seed(0));
        let (actions, width) = (actions.as_actions(), action_width(&space));
        let mut obs = vec![0.0; env.observation_space().flat_dim()];
        let _ = env.reset(Some(0), None, &mut obs);
        let mut i = 0;
        group.bench_function(id, |b| {
            b.iter(|| {
                i = (i + 1) % 1024;
                match env.step(actions.get(i, width), &mut obs) {
                    Ok(out) if out.done() => {
                        let _ = env.reset(None, None, &mut obs);
                    }
                    Ok(_) => {}
                    Err(e) => panic!("{e}"),
                }
                black_box(&obs);
            })
        });
    }
    group.finish();
}

fn vector_env(c: &mut Criterion) {
    let mut group = c.benchmark_group("vector_step");
    for num_envs in [1usize, 8, 64] {
        group.throughput(Throughput::Elements(num_envs as u64));
        for (name, backend) in [("serial", Backend::Serial), ("threaded", Backend::Threaded { num_threads: 2 })] {
            let made = make_vec(registry(), ID, num_envs, backend, AutoresetMode::NextStep, &MakeOptions::default());
            let Ok(mut venv) = made else { panic!("{ID} vector env") };
            let space = venv.single_action_space().clone();
            let Ok(mut actions) = ActionBuffer::new(&space, num_envs) else { panic!("discrete action space") };
            actions.sample(&space, &mut rng_from_seed(1));
            let _ = venv.reset(Some(0));
            group.bench_with_input(BenchmarkId::new(name, num_envs), &num_envs, |b, _| {
                b.iter(|| match venv.step(actions.as_actions()) {
                    Ok(buf) => black_box(buf.rewards[0]),
                    Err(e) => panic!("{e}"),
                })
            });
        }
    }
    group.finish();
}

/// The learner's hot loops: GAE over a PPO rollout, policy inference for a batch of
/// 8 observations (one rollout step), and one PPO-sized forward/backward + Adam step.
fn rl(c: &mut Criterion) {
    use candle_core::{DType, Device, Tensor};
    use synthgym::nn::{Adam, AdamConfig, Mlp, ParamStore};
    use synthgym::rl::buffer::RolloutBuffer;
    use synthgym::rl::config::NetConfig;

    let mut group = c.benchmark_group("rl");
    let (steps, rows) = (2048, 8);
    let mut buf = RolloutBuffer::new(steps, rows, 4, 1);
    buf.valid.fill(true);
    buf.rewards.fill(1.0);
    group.throughput(Throughput::Elements((steps * rows) as u64));
    group.bench_function("gae_2048x8", |b| b.iter(|| buf.compute_advantages(black_box(&[0.5; 8]), 0.99, 0.95)));

    let net = NetConfig::default();
    let mut params = ParamStore::new(&Device::Cpu);
    let mut rng = rng_from_seed(0);
    let (Ok(mlp), Ok(x8), Ok(x256)) = (
        Mlp::new(&mut params, "actor", 4, &net.hidden, 2, net.activation, 0.01, &mut rng),
        Tensor::ones((8, 4), DType::F32, &Device::Cpu),
        Tensor::ones((256, 4), DType::F32, &Device::Cpu),
    ) else {
        return;
    };
    group.throughput(Throughput::Elements(8));
    group.bench_function("mlp64x64_forward_batch8", |b| {
        b.iter(|| mlp.run(black_box(&x8)).and_then(|y| Ok(y.flatten_all()?.to_vec1::<f32>()?)))
    });
    let Ok(mut adam) = Adam::new(&params, AdamConfig::default()) else { return };
    group.throughput(Throughput::Elements(256));
    group.bench_function("mlp64x64_update_batch256", |b| {
        b.iter(|| -> synthgym::nn::Result<f64> {
            let loss = mlp.run(&x256)?.sqr()?.mean_all()?;
            adam.clip_and_step(&loss.backward()?, 1e-4, Some(0.5))
        })
    });
    group.finish();
}

/// A classifier training step (forward, backward, Adam) on a batch of 64 32×32 RGB
/// images, for the CNN and the ResNet; compare with benches/peers/torch_classify.py.
fn classify(c: &mut Criterion) {
    use candle_core::{DType, Device, Tensor};
    use rand::Rng;
    use synthgym::classify::{Classifier, ModelKind};
    use synthgym::data::ImageSpec;
    use synthgym::nn::{Adam, AdamConfig, Pass};

    let mut group = c.benchmark_group("classify");
    group.sample_size(10);
    let spec = ImageSpec { channels: 3, height: 32, width: 32 };
    for kind in [ModelKind::Cnn, ModelKind::Resnet] {
        let mut rng = rng_from_seed(0);
        let (Ok(model), Ok(x), Ok(y)) = (
            Classifier::new(kind, spec, 10, 32, 0.3, &Device::Cpu, &mut rng),
            // Seeded inputs (candle's own `randn` draws from an unseeded generator).
            Tensor::from_vec(
                (0..64 * 32 * 32 * 3).map(|_| rng.random_range(-1.0f32..1.0)).collect::<Vec<f32>>(),
                (64, 32, 32, 3),
                &Device::Cpu,
            ),
            Tensor::zeros(64, DType::U32, &Device::Cpu),
        ) else {
            return;
        };
        let Ok(mut adam) = Adam::new(model.params(), AdamConfig::default()) else { return };
        group.throughput(Throughput::Elements(64));
        group.bench_function(format!("{}_train_step_64x32x32x3", kind.name()), |b| {
            b.iter(|| -> Result<f64, Box<dyn std::error::Error>> {
                let logits = model.forward(&x, &mut Pass::Train(&mut rng))?;
                let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
                Ok(adam.clip_and_step(&loss.backward()?, 1e-3, None)?)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, single_env, vector_env, rl, classify);
criterion_main!(benches);
