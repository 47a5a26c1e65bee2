import ArgumentParser
import LoraNumerics

/// The format the synthesized model's linear weights are stored in, as a checkpoint would store them.
enum WeightFormat: String, ExpressibleByArgument, CaseIterable {
    case f32, bf16, f16

    var element: PanelElement {
        switch self {
        case .f32: return .float32
        case .bf16: return .bfloat16
        case .f16: return .float16
        }
    }

    static let help = ArgumentHelp("Format of the synthesized linear weights: f32, bf16 (most Hugging Face checkpoints) or f16.")
}
