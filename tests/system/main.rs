//! Whole-system tests: real encrypted SQLite files, the real bedside service, child processes
//! killed mid-write, and the real app driven through WebDriver. One binary, shared helpers in
//! `medround_tests`.

mod bedside;
mod bounds;
mod central;
mod crash;
mod e2e;
mod fixtures;
mod fuzz;
mod hostile;
mod layout;
mod print;
mod residents;
mod review;
mod safety;
mod stock;
mod storage;
mod sync;
