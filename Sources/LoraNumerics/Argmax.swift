/// The one arg-max of the project (greedy sampling, `lorad eval`), with one rule for NaN: a NaN ranks below
/// every number, -inf included, so a broken logit is never chosen over a real one.
public enum Argmax {
    /// The index of the largest value; the lowest index wins a tie. NaN counts as -inf; 0 when every value is
    /// NaN or -inf, or when `values` is empty.
    public static func index(_ values: UnsafeBufferPointer<Float>) -> Int {
        guard !values.isEmpty else { return 0 }
        var best = 0
        var largest = values[0].isNaN ? -Float.infinity : values[0]
        // A comparison with NaN is false, so a NaN never takes the lead.
        for i in 1..<values.count where values[i] > largest {
            best = i
            largest = values[i]
        }
        return best
    }

    /// The largest value other than the one at `excluded` (the runner-up of `index`), under the same rule;
    /// nil when there is no other value.
    public static func runnerUp(_ values: UnsafeBufferPointer<Float>, excluding excluded: Int) -> Int? {
        guard values.count > 1 else { return nil }
        let before = UnsafeBufferPointer(rebasing: values[..<excluded])
        let after = UnsafeBufferPointer(rebasing: values[(excluded + 1)...])
        let a = before.isEmpty ? nil : index(before)
        let b = after.isEmpty ? nil : excluded + 1 + index(after)
        guard let a else { return b }
        guard let b else { return a }
        // The earlier index wins a tie; NaN (as -inf) never beats a number.
        return values[b] > (values[a].isNaN ? -Float.infinity : values[a]) ? b : a
    }
}
