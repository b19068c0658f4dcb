//! Driving scenes: controllers, traffic, crashes, observations, goals and the
//! multi-agent view, with scripted scenarios.

use synthgym::env::{Action, Env, Joint, ParallelBuffers, ParallelEnv};
use synthgym::scenes::driving::vehicle::{Driver, Vehicle};
use synthgym::scenes::driving::{ActionKind, DrivingConfig, DrivingEnv, ObservationKind, SceneKind};

const LANE_LEFT: Action<'static> = Action::Discrete(0);
const IDLE: Action<'static> = Action::Discrete(1);
const FASTER: Action<'static> = Action::Discrete(3);

fn empty(scene: SceneKind) -> DrivingConfig {
    DrivingConfig { vehicles: 0, ..DrivingConfig::scene(scene) }
}

#[test]
fn meta_actions_change_speed_and_lane() -> anyhow::Result<()> {
    let mut env = DrivingEnv::new(empty(SceneKind::Highway))?;
    env.reset_state(Some(1))?;
    env.step_with(|_| FASTER)?;
    env.step_with(|_| FASTER)?;
    for _ in 0..4 {
        env.step_with(|_| IDLE)?;
    }
    let ego = &env.vehicles()[0];
    assert!((ego.speed - 30.0).abs() < 1.0, "reaches the top target speed: {}", ego.speed);
    let lane_before = ego.lane.id;
    let target = if lane_before > 0 { LANE_LEFT } else { Action::Discrete(2) };
    env.step_with(|_| target)?;
    for _ in 0..3 {
        env.step_with(|_| IDLE)?;
    }
    let ego = &env.vehicles()[0];
    assert_ne!(ego.lane.id, lane_before, "changed lane");
    assert!(ego.heading.abs() < 0.05, "and straightened out: {}", ego.heading);
    assert!(!ego.crashed);
    Ok(())
}

#[test]
fn driving_into_a_stopped_car_crashes_and_terminates() -> anyhow::Result<()> {
    let mut env = Joint::new(DrivingEnv::new(empty(SceneKind::Highway))?)?;
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(2), None, &mut obs)?;
    let ego = env.inner().vehicles()[0].clone();
    let mut stopped = Vehicle::new([ego.position[0] + 30.0, ego.position[1]], 0.0, 0.0, ego.lane, Driver::Parked);
    stopped.target_speed = 0.0;
    let mut inner = DrivingEnv::new(empty(SceneKind::Highway))?;
    inner.reset_state(Some(2))?;
    inner.vehicles_mut().push(stopped);
    let mut crashed_at = None;
    for t in 0..5 {
        inner.step_with(|_| IDLE)?;
        let (reward, terminated, _) = inner.outcome(0).ok_or_else(|| anyhow::anyhow!("outcome"))?;
        if terminated {
            // The collision term (-1) dominates: well below the ~0.8 of a clean step at this speed.
            assert!(reward < 0.35, "a crash is punished: {reward}");
            crashed_at = Some(t);
            break;
        }
    }
    assert!(crashed_at.is_some() && inner.vehicles()[0].crashed);
    Ok(())
}

#[test]
fn traffic_flows_without_crashing_by_itself() -> anyhow::Result<()> {
    let mut env = DrivingEnv::new(DrivingConfig::scene(SceneKind::Highway))?;
    env.reset_state(Some(3))?;
    let start: Vec<f64> = env.vehicles().iter().map(|v| v.position[0]).collect();
    for _ in 0..20 {
        env.step_with(|_| IDLE)?;
    }
    let traffic = &env.vehicles()[1..];
    let crashed = traffic.iter().filter(|v| v.crashed).count();
    assert!(crashed <= 2, "IDM/MOBIL traffic keeps its distance: {crashed} crashed");
    let moved = traffic.iter().zip(&start[1..]).all(|(v, x0)| v.position[0] > x0 + 100.0);
    assert!(moved, "every car drove on");
    assert!(traffic.iter().any(|v| v.lane.id != 0) && traffic.iter().any(|v| v.lane.id == 0), "lanes are used");
    Ok(())
}

#[test]
fn kinematics_lists_the_nearest_cars_relative_to_the_ego() -> anyhow::Result<()> {
    let mut env = DrivingEnv::new(DrivingConfig::scene(SceneKind::Highway))?;
    env.reset_state(Some(4))?;
    let mut obs = vec![0.0; env.agent_observation_space().flat_dim()];
    env.observe(0, &mut obs)?;
    assert_eq!(obs.len(), 5 * 7);
    assert_eq!(obs[0], 1.0, "the ego row is present");
    let rows: Vec<&[f32]> = obs.chunks(7).skip(1).collect();
    assert!(rows.iter().all(|r| r[0] == 1.0), "dense traffic fills every row");
    assert!(rows.iter().all(|r| r[1] > -0.06), "nothing far behind the ego is observed");
    let dist = |r: &[f32]| ((r[1] * 200.0).powi(2) + (r[2] * 16.0).powi(2)).sqrt();
    assert!(rows.windows(2).all(|w| dist(w[0]) <= dist(w[1]) + 1.0), "rows are sorted by distance");
    Ok(())
}

#[test]
fn lidar_grid_and_ttc_see_a_car_ahead() -> anyhow::Result<()> {
    for kind in [ObservationKind::Lidar, ObservationKind::OccupancyGrid, ObservationKind::TimeToCollision] {
        let mut env = DrivingEnv::new(DrivingConfig { observation: kind, ..empty(SceneKind::Highway) })?;
        env.reset_state(Some(5))?;
        let ego = env.vehicles()[0].clone();
        env.vehicles_mut().push(Vehicle::new([ego.position[0] + 20.0, ego.position[1]], 0.0, 10.0, ego.lane, Driver::Parked));
        let mut obs = vec![0.0; env.agent_observation_space().flat_dim()];
        env.observe(0, &mut obs)?;
        match kind {
            ObservationKind::Lidar => assert!((obs[0] - 17.3 / 60.0).abs() < 0.02, "ray 0 looks ahead: {:?}", &obs[..4]),
            ObservationKind::OccupancyGrid => assert_eq!(obs[5 * 11 + 9], 1.0, "cell 4 ahead in the centre row"),
            _ => assert!(obs[1] < 0.2 && obs[4] == 1.0, "about 1 s to collision in the current lane: {obs:?}"),
        }
    }
    Ok(())
}

#[test]
fn each_scene_can_be_driven_to_its_end() -> anyhow::Result<()> {
    // Merge: past x = 370 ends the episode; intersection: the left turn arrives;
    // roundabout: the ego leaves the ring on its route; all without traffic.
    let mut merge = DrivingEnv::new(empty(SceneKind::Merge))?;
    merge.reset_state(Some(6))?;
    let mut ended = false;
    for _ in 0..20 {
        merge.step_with(|_| FASTER)?;
        if merge.outcome(0).is_some_and(|o| o.1) {
            ended = true;
            break;
        }
    }
    let ego = &merge.vehicles()[0];
    assert!(ended && ego.position[0] > 370.0, "ended {ended}, crashed {}, x {}, lane {:?}", ego.crashed, ego.position[0], ego.lane);

    let mut crossing = DrivingEnv::new(empty(SceneKind::Intersection))?;
    crossing.reset_state(Some(7))?;
    let mut arrived = false;
    for _ in 0..13 {
        crossing.step_with(|_| FASTER)?;
        let (reward, terminated, _) = crossing.outcome(0).ok_or_else(|| anyhow::anyhow!("outcome"))?;
        if terminated {
            arrived = !crossing.vehicles()[0].crashed && reward > 0.99;
            break;
        }
    }
    assert!(arrived, "the ego reaches the west exit");

    let mut ring = DrivingEnv::new(DrivingConfig { duration: 30.0, ..empty(SceneKind::Roundabout) })?;
    ring.reset_state(Some(8))?;
    let mut node = String::new();
    for _ in 0..30 {
        ring.step_with(|_| FASTER)?;
        let ego = &ring.vehicles()[0];
        node = ring.network().node_name(ego.lane.to).to_owned();
        if node.ends_with('r') && node.contains('x') {
            break;
        }
    }
    let ego = &ring.vehicles()[0];
    assert!(node.ends_with('r') && node.contains('x'), "left the ring on an exit road, now heading to {node}");
    assert!(!ego.crashed);
    Ok(())
}

#[test]
fn parking_is_goal_conditioned_and_succeeds_at_the_goal() -> anyhow::Result<()> {
    let mut env = Joint::new(DrivingEnv::new(DrivingConfig::scene(SceneKind::Parking))?)?;
    assert!(matches!(env.observation_space(), synthgym::env::Space::Dict(_)));
    let mut obs = vec![0.0; env.observation_space().flat_dim()];
    env.reset(Some(9), None, &mut obs)?;
    assert_eq!(&obs[..6], &obs[6..12], "achieved_goal is the observed state");
    let out = env.step(Action::Continuous(&[0.0, 0.0]), &mut obs)?;
    assert!(out.reward < 0.0 && !out.terminated);
    let mut inner = DrivingEnv::new(DrivingConfig::scene(SceneKind::Parking))?;
    inner.reset_state(Some(9))?;
    let goal = inner.goal(0).ok_or_else(|| anyhow::anyhow!("a goal"))?;
    inner.vehicles_mut().truncate(1);
    let ego = &mut inner.vehicles_mut()[0];
    ego.position = [goal[0], goal[1]];
    ego.heading = goal[2];
    ego.speed = 0.0;
    inner.step_with(|_| Action::Continuous(&[0.0, 0.0]))?;
    let (reward, terminated, _) = inner.outcome(0).ok_or_else(|| anyhow::anyhow!("outcome"))?;
    assert!(terminated && reward > -0.12, "parked at the goal: reward {reward}");
    Ok(())
}

#[test]
fn two_controlled_cars_share_the_highway() -> anyhow::Result<()> {
    let cfg = DrivingConfig { controlled_vehicles: 2, vehicles: 10, ..DrivingConfig::scene(SceneKind::Highway) };
    let mut env = DrivingEnv::new(cfg)?;
    let mut buf = ParallelBuffers::for_env(&env);
    env.reset(Some(10), None, &mut buf.rows())?;
    assert_eq!(env.possible_agents(), ["ego_0", "ego_1"]);
    env.step(&[FASTER, IDLE], &mut buf.rows())?;
    assert!(buf.rewards.iter().all(|r| (0.0..=1.0).contains(r)));
    assert_ne!(buf.obs_of(0), buf.obs_of(1));
    let cont = DrivingConfig { actions: ActionKind::Continuous, ..DrivingConfig::scene(SceneKind::Highway) };
    let mut joint = Joint::new(DrivingEnv::new(DrivingConfig { controlled_vehicles: 2, ..cont })?)?;
    assert_eq!(joint.action_space().flat_dim(), 4);
    let mut obs = vec![0.0; joint.observation_space().flat_dim()];
    joint.reset(Some(1), None, &mut obs)?;
    assert!(joint.step(Action::Continuous(&[0.0, 0.0]), &mut obs).is_err(), "joint actions need every car's");
    Ok(())
}

#[test]
fn randomized_scenes_vary_with_the_seed() -> anyhow::Result<()> {
    let mut env = DrivingEnv::new(DrivingConfig { randomize: true, ..DrivingConfig::scene(SceneKind::Highway) })?;
    let mut shapes = std::collections::HashSet::new();
    for seed in 0..8 {
        env.reset_state(Some(seed))?;
        shapes.insert((env.network().num_lanes(), env.vehicles().len()));
    }
    assert!(shapes.len() > 3, "lanes and traffic vary: {shapes:?}");
    Ok(())
}

#[test]
fn custom_roads_from_scene_files_follow_their_geometry() -> anyhow::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/driving-custom.toml");
    let text = std::fs::read_to_string(&path)?;
    let cfg = DrivingConfig { vehicles: 0, ..DrivingConfig::from_toml(&text, "driving-custom.toml")? };
    let mut env = DrivingEnv::new(cfg)?;
    env.reset_state(Some(0))?;
    for _ in 0..20 {
        env.step_with(|_| IDLE)?;
    }
    let ego = &env.vehicles()[0];
    assert!(!ego.crashed);
    assert_eq!(env.network().node_name(ego.lane.to), "e", "through the curve to the destination branch");
    assert!((ego.heading - std::f64::consts::FRAC_PI_2).abs() < 0.1, "heading turned a quarter: {}", ego.heading);
    assert!((ego.position[0] - 300.0).abs() < 3.0, "in lane: x = {}", ego.position[0]);

    let broken = text.replace("radius = 100.0", "radius = 3.0");
    let Err(err) = DrivingConfig::from_toml(&broken, "broken.toml") else { panic!("an arc narrower than its lanes was accepted") };
    assert!(err.to_string().contains("road[1]"), "{err}");
    Ok(())
}

#[test]
fn procedural_roads_differ_by_seed_and_can_be_driven() -> anyhow::Result<()> {
    let mut env = DrivingEnv::new(DrivingConfig { vehicles: 0, ..DrivingConfig::scene(SceneKind::Procedural) })?;
    let mut layouts = std::collections::HashSet::new();
    for seed in 0..6 {
        env.reset_state(Some(seed))?;
        layouts.insert(format!("{:?}", env.network().lanes().map(|(_, l)| (l.length() * 10.0).round() as i64).collect::<Vec<_>>()));
        for _ in 0..15 {
            env.step_with(|_| IDLE)?;
        }
        let ego = &env.vehicles()[0];
        let lane = env.network().lane(ego.lane).ok_or_else(|| anyhow::anyhow!("lane"))?;
        let (_, lat) = lane.local_coordinates(ego.position);
        assert!(!ego.crashed && lat.abs() < 1.5, "seed {seed}: the ego keeps its lane through curves (lat {lat})");
    }
    assert_eq!(layouts.len(), 6, "every seed draws a different road");
    Ok(())
}

#[test]
fn junction_geometry_is_continuous_and_exits_are_on_the_right() -> anyhow::Result<()> {
    // Regression: intersection exits were drawn on top of the opposite incoming lanes,
    // and the merge ramp ended 4 m away from the lane that continues it.
    let mut crossing = DrivingEnv::new(empty(SceneKind::Intersection))?;
    crossing.reset_state(Some(0))?;
    let net = crossing.network();
    let lanes: Vec<_> = net.lanes().collect();
    for (ei, exit) in lanes.iter().filter(|(li, _)| net.node_name(li.from).starts_with("il")) {
        let side = &net.node_name(ei.to)[1..];
        let entry = lanes
            .iter()
            .find(|(li, _)| net.node_name(li.from) == format!("o{side}"))
            .map(|(_, l)| l)
            .ok_or_else(|| anyhow::anyhow!("entry"))?;
        let (a, b) = (exit.position(exit.length() / 2.0, 0.0), entry.position(entry.length() / 2.0, 0.0));
        let gap = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        assert!((gap - 4.0).abs() < 1e-6, "exit o{side} runs one lane width beside its entry: {gap}");
    }
    let mut merge = DrivingEnv::new(DrivingConfig::scene(SceneKind::Merge))?;
    merge.reset_state(Some(0))?;
    let net = merge.network();
    let lane = |from: &str, to: &str| {
        net.lanes().find(|(li, _)| net.node_name(li.from) == from && net.node_name(li.to) == to).map(|(_, l)| l.clone())
    };
    let (ramp, after) = (lane("j", "k").ok_or_else(|| anyhow::anyhow!("ramp"))?, lane("k", "b").ok_or_else(|| anyhow::anyhow!("k-b"))?);
    let (end, start) = (ramp.position(ramp.length(), 0.0), after.position(0.0, 0.0));
    assert!((end[0] - start[0]).abs() < 1e-9 && (end[1] - start[1]).abs() < 1e-9, "{end:?} vs {start:?}");
    Ok(())
}

#[test]
fn intersection_traffic_keeps_arriving() -> anyhow::Result<()> {
    let mut env = DrivingEnv::new(DrivingConfig { duration: 60.0, ..DrivingConfig::scene(SceneKind::Intersection) })?;
    env.reset_state(Some(11))?;
    let initial = env.vehicles().len() as u32;
    for _ in 0..40 {
        env.step_with(|_| Action::Discrete(4))?; // the ego stays slow
    }
    assert!(env.vehicles().iter().any(|v| v.id >= initial), "new cars entered");
    assert!(env.vehicles().len() <= 1 + 10, "and old ones left: {}", env.vehicles().len());
    let mut ids: Vec<u32> = env.vehicles().iter().map(|v| v.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), env.vehicles().len(), "ids stay unique");
    Ok(())
}

#[test]
fn bad_driving_scene_files_are_rejected() {
    let arc = |start: f64, end: f64, clockwise: bool| {
        format!(
            "scene = \"custom\"\n[[road]]\nfrom = \"a\"\nto = \"b\"\nshape = {{ arc = {{ center = [0.0, 0.0], radius = 50.0, start_angle = {start}, end_angle = {end}, clockwise = {clockwise} }} }}\n"
        )
    };
    assert!(DrivingConfig::from_toml(&arc(0.0, 90.0, true), "ok.toml").is_ok());
    assert!(DrivingConfig::from_toml(&arc(0.0, 90.0, false), "backwards.toml").is_err(), "sweep against its direction");
    assert!(DrivingConfig::from_toml(&arc(0.0, 200.0, true), "wide.toml").is_err(), "half a turn or more");
    assert!(DrivingConfig::from_toml("scene = \"highway\"\nttc_horizon = inf\n", "inf.toml").is_err());
    assert!(DrivingConfig::from_toml("scene = \"highway\"\nreward_speed_range = [30.0, 20.0]\n", "range.toml").is_err());
    let Err(e) = DrivingConfig::from_toml("scene = \"highway\"\nlanez = 3\n", "typo.toml") else { panic!("typo accepted") };
    assert!(e.to_string().contains("typo.toml") && e.to_string().contains("lanez"), "{e}");
}

#[test]
fn placed_vehicles_from_scene_files_start_where_written() -> anyhow::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/driving-placed.toml");
    let text = std::fs::read_to_string(&path)?;
    let cfg = DrivingConfig::from_toml(&text, "driving-placed.toml")?;
    let mut env = DrivingEnv::new(cfg.clone())?;
    env.reset_state(Some(3))?;
    let starts: Vec<(u16, f64, f64)> = env.vehicles().iter().map(|v| (v.lane.id, v.position[0], v.speed)).collect();
    assert_eq!(starts, vec![(1, 50.0, 25.0), (1, 90.0, 15.0), (0, 48.0, 25.0), (2, 140.0, 22.0)], "egos first, then the file's order");
    assert!(matches!(env.vehicles()[0].driver, Driver::MetaAgent { .. }), "the controlled car is the ego");
    assert!(matches!(env.vehicles()[1].driver, Driver::Idm { .. }));
    // Every seed starts from the same configuration.
    env.reset_state(Some(4))?;
    assert_eq!(env.vehicles().iter().map(|v| (v.lane.id, v.position[0])).collect::<Vec<_>>().len(), 4);
    assert_eq!(env.vehicles()[1].position[0], 90.0);
    // Keeping its lane at 25 m/s, the ego runs into the slow car 40 m ahead.
    let mut crashed = false;
    for _ in 0..8 {
        env.step_with(|_| IDLE)?;
        crashed |= env.vehicles()[0].crashed;
    }
    assert!(crashed, "the scenario's slow car is really there");

    // Custom roads take placements on any segment, checked against its geometry.
    let custom = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/driving-custom.toml"))?;
    let placed = format!(
        "{custom}\n[[vehicle]]\nfrom = \"a\"\nto = \"b\"\nlane = 1\nposition = 20.0\nspeed = 18.0\ncontrolled = true\n\n[[vehicle]]\nfrom = \"b\"\nto = \"c\"\nposition = 100.0\nspeed = 15.0\n"
    );
    let mut env = DrivingEnv::new(DrivingConfig::from_toml(&placed, "placed-custom.toml")?)?;
    env.reset_state(Some(0))?;
    assert_eq!(env.vehicles().len(), 2, "no random traffic besides the placed cars");
    let on_curve = &env.vehicles()[1];
    let curve = env.network().lane(on_curve.lane).ok_or_else(|| anyhow::anyhow!("lane"))?;
    assert_eq!(env.network().node_name(on_curve.lane.from), "b");
    assert!((curve.local_coordinates(on_curve.position).0 - 100.0).abs() < 1e-6);
    assert_eq!(
        env.vehicles()[0].route.last().map(|&n| env.network().node_name(n).to_string()),
        Some("e".into()),
        "the ego heads for the destination"
    );

    // Bad placements name the table and the problem.
    let broken =
        |from: &str, to: &str| DrivingConfig::from_toml(&text.replacen(from, to, 1), "broken.toml").map(|_| ()).map_err(|e| e.to_string());
    let err = broken("position = 90.0", "position = 52.0").expect_err("overlap");
    assert!(err.contains("vehicle[1]") && err.contains("overlaps vehicle[0]"), "{err}");
    let err = broken("lane = 2", "lane = 3").expect_err("no such lane");
    assert!(err.contains("vehicle[3]") && err.contains("lane 3 does not exist"), "{err}");
    let err = broken("position = 140.0", "position = -1.0").expect_err("off the road");
    assert!(err.contains("vehicle[3]") && err.contains("off lane"), "{err}");
    let err = broken("controlled = true", "controlled = false").expect_err("no ego");
    assert!(err.contains("0 vehicle(s) are controlled"), "{err}");
    let err = broken("scene = \"highway\"", "scene = \"merge\"").expect_err("merge takes none");
    assert!(err.contains("highway and custom"), "{err}");
    let err = broken("lane = 1\nposition = 50.0", "from = \"x\"\nlane = 1\nposition = 50.0").expect_err("no such segment");
    assert!(err.contains("vehicle[0]") && err.contains("no segment x"), "{err}");
    Ok(())
}
