fn main() {
    // Debug info in the compiled UI lets tests find elements by their accessible labels.
    let config = slint_build::CompilerConfiguration::new().with_debug_info(true);
    slint_build::compile_with_config("ui/app.slint", config).expect("the .slint files compile");
}
