// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    selectra::engine::model::workers::keep_candle_pool_idle();
    selectra_studio::run();
}
