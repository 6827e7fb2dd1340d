//! placeholder until the app is built
