//! The data-driven test harness: every case under `testdata/` runs through here.
//! (Filled in by the harness work.)
