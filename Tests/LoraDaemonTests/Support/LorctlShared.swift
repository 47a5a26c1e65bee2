import Foundation

/// A value shared between a test and a reader thread.
final class LorctlShared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value { lock.withLock { stored } }

    func set(_ value: Value) { lock.withLock { stored = value } }

    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
