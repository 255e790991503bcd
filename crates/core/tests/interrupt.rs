//! Interrupting runs ([`run_group_interruptible`]): a run that is never interrupted is
//! bit-identical to one run without an interrupt, even where reading the flag cuts its
//! stretches of steps (checks further apart than the readings, every `POLL_WORK / step_work`
//! steps, so that the readings end the stretches instead); a requested interrupt stops runs
//! that would go on for years, with no result.

use aesgd_core::run::{
    Interrupt, Interrupted, NoObserver, Observer, POLL_WORK, run_group, run_group_interruptible,
};
use aesgd_core::trajectory::TrajectoryRecorder;
use aesgd_core::{Activation, EngineChoice, RunConfig, Schedule};

/// Configurations whose checks are further apart than the readings of an interrupt (every
/// `POLL_WORK / step_work` steps: under 2^21 for these reduced steps of at least 2 operations,
/// and these dense ones of at least 16), ending every way.
fn cases() -> Vec<RunConfig> {
    let apart = POLL_WORK + 17;
    let sparse_checks = RunConfig { n: 8, d: 8, check_every: apart, ..RunConfig::default() };
    vec![
        // Converges at a check past several polls.
        RunConfig { batch: 3, ..sparse_checks.clone() },
        // Spends a budget that is not a multiple of anything.
        RunConfig { batch: 7, max_steps: 3 * apart + 5, grad_tol: 1e-300, ..sparse_checks.clone() },
        RunConfig {
            batch: 2,
            schedule: Schedule::Cyclic,
            activation: Activation::Linear,
            ..sparse_checks.clone()
        },
        RunConfig {
            batch: 4,
            schedule: Schedule::Epoch,
            engine: EngineChoice::Dense,
            max_steps: 300_001,
            ..sparse_checks.clone()
        },
        RunConfig { batch: 5, schedule: Schedule::Replacement, ..sparse_checks.clone() },
        // Diverges.
        RunConfig { batch: 8, eta: 40.0, ..sparse_checks },
    ]
}

#[test]
fn a_run_that_is_not_interrupted_is_unchanged() {
    for config in cases() {
        let indices = [0_u64, 1, 2];
        let mut plain: Vec<TrajectoryRecorder> =
            indices.iter().map(|_| TrajectoryRecorder::new(10, true)).collect();
        let mut runs: Vec<(u64, &mut dyn Observer)> =
            indices.iter().zip(&mut plain).map(|(&k, r)| (k, r as &mut dyn Observer)).collect();
        let expected = run_group(&config, 5, &mut runs);
        drop(runs);
        let mut watched: Vec<TrajectoryRecorder> =
            indices.iter().map(|_| TrajectoryRecorder::new(10, true)).collect();
        let mut runs: Vec<(u64, &mut dyn Observer)> =
            indices.iter().zip(&mut watched).map(|(&k, r)| (k, r as &mut dyn Observer)).collect();
        let got = run_group_interruptible(&config, 5, &mut runs, &Interrupt::new()).expect("not interrupted");
        drop(runs);
        assert_eq!(format!("{got:?}"), format!("{expected:?}"), "{config:?}");
        let snapshots = |r: Vec<TrajectoryRecorder>| {
            format!("{:?}", r.into_iter().map(|r| r.into_snapshots()).collect::<Vec<_>>())
        };
        assert_eq!(snapshots(watched), snapshots(plain), "{config:?}");
    }
}

#[test]
fn an_interrupt_stops_runs_that_would_not_end() {
    // About 10^19 steps with checks never due: only the interrupt can stop these.
    let endless = RunConfig {
        n: 50,
        d: 50,
        batch: 49,
        max_steps: u64::MAX / 2,
        check_every: u64::MAX / 4,
        grad_tol: 1e-300,
        ..RunConfig::default()
    };
    for engine in [EngineChoice::Reduced, EngineChoice::Dense] {
        let config = RunConfig { engine, ..endless.clone() };
        let interrupt = Interrupt::new();
        let result = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(30));
                interrupt.request();
            });
            let mut a = NoObserver;
            let mut b = TrajectoryRecorder::new(10, false);
            run_group_interruptible(
                &config,
                0,
                &mut [(0, &mut a as &mut dyn Observer), (1, &mut b)],
                &interrupt,
            )
        });
        assert_eq!(result.map(|r| r.len()), Err(Interrupted), "{engine:?}");
    }
    // A request made before the start stops the group before its first step.
    let interrupt = Interrupt::new();
    interrupt.request();
    assert!(interrupt.is_requested());
    let result =
        run_group_interruptible(&endless, 0, &mut [(0, &mut NoObserver as &mut dyn Observer)], &interrupt);
    assert_eq!(result.map(|r| r.len()), Err(Interrupted));
}
