//! The physics-mode warehouse: driving, lifting, delivering, collisions, lidar,
//! occupancy and snapshots, with scripted robots on small ASCII floor plans.

use synthgym::env::{Action, Env, Joint, ParallelBuffers, ParallelEnv};
use synthgym::scenes::warehouse::{ActionKind, LayoutConfig, PhysicsConfig, PhysicsWarehouse, RewardType};
use synthgym::snapshot::{Class, Snapshot};

const FORWARD: Action<'static> = Action::Discrete(1);
const LEFT: Action<'static> = Action::Discrete(2);
const TOGGLE: Action<'static> = Action::Discrete(4);
const STOP: Action<'static> = Action::Discrete(0);

/// Row 0: a shelf at x=0 then corridor; row 1 corridor; row 2 a goal at x=0.
fn small_floor(n_agents: usize) -> PhysicsConfig {
    PhysicsConfig {
        layout: LayoutConfig::Ascii("x.x...\n......\ng.....\n......".into()),
        request_queue_size: 1,
        reward_type: RewardType::Individual,
        ..PhysicsConfig::rware("tiny", n_agents, ActionKind::Discrete)
    }
}

fn step_all(env: &mut PhysicsWarehouse, a: Action<'static>) -> anyhow::Result<()> {
    env.step_with(|_| a)?;
    Ok(())
}

#[test]
fn robots_drive_at_top_speed_and_turn_at_ninety_degrees_per_second() -> anyhow::Result<()> {
    let mut env = PhysicsWarehouse::new(small_floor(1))?;
    env.reset_state(Some(0))?;
    env.set_robot_pose(0, [3.5, 1.5], std::f32::consts::FRAC_PI_2)?; // facing +x
    for _ in 0..10 {
        step_all(&mut env, FORWARD)?;
    }
    let ([x, z], _) = env.robot_pose(0).ok_or_else(|| anyhow::anyhow!("pose"))?;
    assert!((x - 4.5).abs() < 0.02 && (z - 1.5).abs() < 0.02, "1 s at 1 m/s along +x: {x} {z}");
    for _ in 0..10 {
        step_all(&mut env, LEFT)?;
    }
    let (_, yaw) = env.robot_pose(0).ok_or_else(|| anyhow::anyhow!("pose"))?;
    assert!((yaw - std::f32::consts::PI).abs() < 0.02 || (yaw + std::f32::consts::PI).abs() < 0.02, "a quarter turn left: {yaw}");
    Ok(())
}

#[test]
fn a_robot_lifts_a_requested_shelf_and_delivers_it() -> anyhow::Result<()> {
    let mut env = PhysicsWarehouse::new(small_floor(1))?;
    env.reset_state(Some(0))?;
    let shelf = env.shelf_at(0, 0).ok_or_else(|| anyhow::anyhow!("a shelf at (0, 0)"))?;
    env.set_requests(&[shelf])?;
    env.set_robot_pose(0, [0.5, 0.5], 0.0)?; // under the shelf, facing +z (towards the goal)
    step_all(&mut env, TOGGLE)?;
    assert_eq!(env.carrying(0), Some(shelf));
    let mut obs = vec![0.0; env.agent_observation_space().flat_dim()];
    env.observe(0, &mut obs);
    assert_eq!((obs[6], obs[7]), (1.0, 1.0), "carrying a requested shelf");
    assert!(obs[8] > 0.99, "the nearest goal is straight ahead: {:?}", &obs[8..11]);
    let mut total = 0.0;
    for _ in 0..25 {
        env.step_with(|_| FORWARD)?;
        total += env.rewards()[0];
        if env.deliveries() > 0 {
            break;
        }
    }
    assert_eq!(env.deliveries(), 1);
    assert!((total - 1.0).abs() < 1e-6, "one delivery, no collisions: {total}");
    assert_ne!(env.requests(), [shelf], "the delivered shelf is replaced in the queue");
    let [sx, sz] = env.shelf_positions()[shelf];
    let ([x, z], _) = env.robot_pose(0).ok_or_else(|| anyhow::anyhow!("pose"))?;
    assert!((sx - x).abs() < 1e-4 && (sz - z).abs() < 1e-4, "the shelf travels with the robot");
    Ok(())
}

#[test]
fn shelves_go_down_only_on_free_shelf_cells() -> anyhow::Result<()> {
    let mut env = PhysicsWarehouse::new(small_floor(1))?;
    env.reset_state(Some(0))?;
    let shelf = env.shelf_at(0, 0).ok_or_else(|| anyhow::anyhow!("shelf"))?;
    env.set_robot_pose(0, [0.5, 0.5], std::f32::consts::FRAC_PI_2)?;
    step_all(&mut env, TOGGLE)?;
    assert_eq!(env.carrying(0), Some(shelf));
    // Drive one cell to the corridor at (1, 0): putting down there is refused.
    for _ in 0..10 {
        step_all(&mut env, FORWARD)?;
    }
    step_all(&mut env, TOGGLE)?;
    assert_eq!(env.carrying(0), Some(shelf), "no shelves on corridors");
    // At (2, 0) the other shelf stands: refused too; back at (0, 0), accepted.
    env.set_robot_pose(0, [0.5, 0.5], 0.0)?;
    step_all(&mut env, TOGGLE)?;
    assert_eq!(env.carrying(0), None);
    assert_eq!(env.shelf_at(0, 0), Some(shelf));
    Ok(())
}

#[test]
fn loaded_robots_are_blocked_by_shelves_and_collisions_cost_reward() -> anyhow::Result<()> {
    let mut env = PhysicsWarehouse::new(small_floor(2))?;
    env.reset_state(Some(0))?;
    // Robot 0 (unloaded) drives under the shelf at (2, 0) from (4, 0); no penalty.
    env.set_robot_pose(0, [4.5, 0.5], -std::f32::consts::FRAC_PI_2)?;
    env.set_robot_pose(1, [4.5, 3.5], 0.0)?;
    for _ in 0..20 {
        env.step_with(|i| if i == 0 { FORWARD } else { STOP })?;
        assert_eq!(env.rewards()[0], 0.0);
    }
    let ([x, _], _) = env.robot_pose(0).ok_or_else(|| anyhow::anyhow!("pose"))?;
    assert!(x < 2.6, "passed under the shelf: x = {x}");

    // Loaded, robot 0 cannot enter the shelf cell at (2, 0) and pays for pushing.
    env.set_robot_pose(0, [0.5, 0.5], std::f32::consts::FRAC_PI_2)?;
    env.step_with(|i| if i == 0 { TOGGLE } else { STOP })?;
    assert!(env.carrying(0).is_some());
    let mut penalty = 0.0;
    for _ in 0..30 {
        env.step_with(|i| if i == 0 { FORWARD } else { STOP })?;
        penalty += env.rewards()[0];
    }
    let ([x, _], _) = env.robot_pose(0).ok_or_else(|| anyhow::anyhow!("pose"))?;
    // The shelf on cell (2, 0) is centred at x = 2.5: the robot stops at 2.5 - 0.4 - 0.3.
    assert!(x < 1.85, "blocked by the standing shelf: x = {x}");
    assert!(penalty < -0.5 && env.collisions()[0] > 10, "penalty {penalty}, collisions {:?}", env.collisions());

    // Two robots driving into each other both pay.
    env.reset_state(Some(1))?;
    env.set_robot_pose(0, [3.5, 1.5], std::f32::consts::FRAC_PI_2)?;
    env.set_robot_pose(1, [5.5, 1.5], -std::f32::consts::FRAC_PI_2)?;
    for _ in 0..15 {
        step_all(&mut env, FORWARD)?;
    }
    assert!(env.collisions().iter().all(|&c| c > 0), "{:?}", env.collisions());
    Ok(())
}

#[test]
fn lidar_sees_an_approaching_robot_and_the_occupancy_grid_shows_shelves() -> anyhow::Result<()> {
    let cfg = PhysicsConfig { lidar_rays: 8, occupancy_grid: Some(3), ..small_floor(2) };
    let mut env = PhysicsWarehouse::new(cfg)?;
    env.reset_state(Some(0))?;
    env.set_robot_pose(0, [1.5, 1.5], std::f32::consts::FRAC_PI_2)?; // facing +x
    env.set_robot_pose(1, [4.5, 1.5], 0.0)?;
    let dim = env.agent_observation_space().flat_dim();
    assert_eq!(dim, 11 + 8 + 18);
    let mut obs = vec![0.0; dim];
    step_all(&mut env, STOP)?;
    env.observe(0, &mut obs);
    // Ray 0 looks ahead: the other robot is 3 m away, 2.7 m to its surface (range 4 m).
    let ahead = obs[11];
    assert!((ahead - 2.7 / 4.0).abs() < 0.02, "lidar ahead {ahead}: {:?}", &obs[11..19]);
    for _ in 0..5 {
        env.step_with(|i| if i == 0 { FORWARD } else { STOP })?;
    }
    env.observe(0, &mut obs);
    assert!((obs[11] - 2.2 / 4.0).abs() < 0.02, "0.5 m closer after driving towards it: {}", obs[11]);
    // Occupancy around cell (1, 1) (the robot is at x = 2.0 - ε): the shelves at
    // (0, 0) and (2, 0) are the top row's corners.
    let shelves = &obs[19..28];
    let robots = &obs[28..37];
    assert_eq!(shelves, [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(robots[4], 1.0, "the robot's own cell");
    assert!(env.agent_observation_space().contains_flat(&obs));
    Ok(())
}

#[test]
fn joint_view_and_parallel_view_agree() -> anyhow::Result<()> {
    let cfg = small_floor(2);
    let mut joint = Joint::new(PhysicsWarehouse::new(cfg.clone())?)?;
    let mut multi = PhysicsWarehouse::new(cfg)?;
    let mut obs = vec![0.0; joint.observation_space().flat_dim()];
    let mut buf = ParallelBuffers::for_env(&multi);
    joint.reset(Some(5), None, &mut obs)?;
    multi.reset(Some(5), None, &mut buf.rows())?;
    let actions = [[1i64, 2], [1, 1], [4, 3], [0, 1], [1, 1]];
    for a in actions.iter().cycle().take(60) {
        let out = joint.step(Action::MultiDiscrete(a), &mut obs)?;
        multi.step(&[Action::Discrete(a[0]), Action::Discrete(a[1])], &mut buf.rows())?;
        assert_eq!(out.reward, buf.rewards.iter().sum::<f32>());
        assert_eq!(&obs[..buf.obs_of(0).len()], buf.obs_of(0));
        assert_eq!(&obs[buf.obs_of(0).len()..], buf.obs_of(1));
    }
    Ok(())
}

#[test]
fn continuous_commands_set_speed_and_load() -> anyhow::Result<()> {
    let cfg = PhysicsConfig { actions: ActionKind::Continuous, ..small_floor(1) };
    let mut env = Joint::new(PhysicsWarehouse::new(cfg)?)?;
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(2), None, &mut obs)?;
    assert!(env.step(Action::Continuous(&[0.5, 0.0]), &mut obs).is_err(), "wrong length");
    assert!(env.step(Action::Continuous(&[2.0, 0.0, 0.0]), &mut obs).is_err(), "out of bounds");
    env.step(Action::Continuous(&[0.5, 0.0, 0.0]), &mut obs)?;
    assert!((obs[4] - 0.5).abs() < 0.05, "half speed: {}", obs[4]);
    Ok(())
}

#[test]
fn snapshots_follow_the_physics() -> anyhow::Result<()> {
    let mut env = PhysicsWarehouse::new(small_floor(1))?;
    env.reset_state(Some(0))?;
    let shelf = env.shelf_at(0, 0).ok_or_else(|| anyhow::anyhow!("shelf"))?;
    env.set_robot_pose(0, [0.5, 0.5], 0.0)?;
    step_all(&mut env, TOGGLE)?;
    let mut snap = Snapshot::default();
    ParallelEnv::snapshot(&env, &mut snap);
    let robots: Vec<_> = snap.objects.iter().filter(|o| o.class == Class::Robot).collect();
    assert_eq!(robots.len(), 1);
    let shelves: Vec<_> = snap.objects.iter().filter(|o| matches!(o.class, Class::Shelf | Class::RequestedShelf)).collect();
    assert_eq!(shelves.len(), 2);
    let carried = shelves.iter().map(|o| o.position[1]).fold(0.0f32, f32::max);
    assert!(carried > 0.6, "the carried shelf is lifted: {carried}");
    assert!((snap.time_s - 0.1).abs() < 1e-6 && snap.step == 1);
    let _ = shelf;
    Ok(())
}
