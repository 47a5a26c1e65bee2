import Foundation

/// The steps of a long operation seen so far, shown as `copying → hashing → validating`.
final class StepTrail: @unchecked Sendable {
    private let lock = NSLock()
    private var steps: [String] = []

    /// Adds `step` and returns the whole trail.
    func appending(_ step: String) -> String {
        lock.withLock {
            steps.append(step)
            return steps.joined(separator: " → ")
        }
    }
}
