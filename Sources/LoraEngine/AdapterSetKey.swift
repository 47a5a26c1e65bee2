import LoraModel
import LoraNumerics

/// What identifies an adapter set built for jobs that name their own adapters: per entry, in order, the
/// adapter's content and the scale's bits. Two jobs with equal keys get the same set, bit for bit.
struct AdapterSetKey: Hashable, Sendable {
    /// One adapter's content.
    enum Content: Hashable, Sendable {
        /// The caller's key (`AdapterSet.Entry.contentKey`: the daemon's registry digest).
        case key(String)
        /// The weight buffers themselves, with each module's scaling: the same loaded adapter (or a renamed view
        /// of it) is the same content. A cached set keeps its adapters' buffers alive, so no other buffer can
        /// take one of these addresses while the key is in the cache.
        case storage([ObjectIdentifier], [UInt32])
    }

    struct Item: Hashable, Sendable {
        var content: Content
        var scaleBits: UInt32
    }

    var items: [Item]

    init(_ entries: [AdapterSet.Entry]) {
        items = entries.map { e in
            Item(content: e.contentKey.map { .key($0) } ?? Self.storage(of: e.adapter), scaleBits: e.scale.bitPattern)
        }
    }

    private static func storage(of adapter: LoraAdapter) -> Content {
        var buffers: [ObjectIdentifier] = []
        var scalings: [UInt32] = []
        for key in adapter.modules.keys.sorted() {
            guard let w = adapter.modules[key] else { continue }
            buffers.append(ObjectIdentifier(w.a.storage))
            buffers.append(ObjectIdentifier(w.b.storage))
            scalings.append(w.scaling.bitPattern)
        }
        return .storage(buffers, scalings)
    }
}
