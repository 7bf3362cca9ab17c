//! What `/readyz` answers for besides the catalog: the components a process was asked
//! to run (the controller). The wiring marks them up or down; the probe reads them.

/// The components a process was asked to run besides the catalog (the controller):
/// `/readyz` is ready only while none of them is down. One that was not asked for
/// is never down.
#[derive(Debug, Default)]
pub struct Components {
    down: std::sync::Mutex<std::collections::BTreeMap<&'static str, String>>,
}

impl Components {
    /// `component` does not run, because of `why`.
    pub fn down(&self, component: &'static str, why: impl Into<String>) {
        self.lock().insert(component, why.into());
    }

    /// `component` runs (again).
    pub fn up(&self, component: &'static str) {
        self.lock().remove(component);
    }

    /// Why the process is not ready, if a component is down: `controller: why`, each
    /// one so.
    pub fn problem(&self) -> Option<String> {
        let down = self.lock();
        (!down.is_empty()).then(|| {
            down.iter()
                .map(|(c, why)| format!("{c}: {why}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<&'static str, String>> {
        self.down
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
