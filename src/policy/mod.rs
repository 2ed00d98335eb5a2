//! Admission policies, decided offline.
pub mod cel;
