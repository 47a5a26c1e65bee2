import CKernelSupport
import Testing

/// The CPU check the executables run first: it must pass on a machine that runs the kernels, and its refusal
/// must tell an operator what to do.
struct CPUFeatureTests {
    #if LORAD_VECTOR_ISA
    @Test func thisMachineRunsTheVectorKernels() {
        // The suite itself runs the kernels built for AVX2 here, so the check must agree.
        #expect(lorad_cpu_runs_vector_kernels() == 1)
    }
    #endif

    @Test func theRefusalNamesTheProgramAndThePortableBuild() {
        var buffer = [CChar](repeating: 0, count: 512)
        lorad_vector_kernels_refusal(&buffer, buffer.count, "lorad")
        let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(message.hasPrefix("lorad: this build uses AVX2 and FMA"))
        #expect(message.contains("LORAD_PORTABLE=1"))
        #expect(message.contains("docs/operations.md"))
    }
}
