/// The `BPE` model of tokenizer.json: turns one pre-tokenized word into token ids by applying merges in rank
/// order, with byte fallback and unknown-token handling exactly as the tokenizers library does.
struct BPEModel: Sendable {
    /// Token string to id (`model.vocab`).
    let tokenIds: [ByteKey: Int32]
    /// Id to token string, as UTF-8; ids missing from the vocabulary have nil.
    let tokens: [[UInt8]?]
    let merges: PairRankTable
    let byteFallback: Bool
    let ignoreMerges: Bool
    let fuseUnk: Bool
    let unkId: Int32?
    let continuingSubwordPrefix: [UInt8]
    let endOfWordSuffix: [UInt8]
    /// Ids of the single-scalar tokens with scalar value below `Self.directLimit`, or -1.
    private let directScalarIds: [Int32]
    /// Ids of the `<0xXX>` tokens, or -1.
    private let byteTokenIds: [Int32]
    private let cache = WordCache(capacity: 20_000)
    private static let directLimit = 0x3000
    /// How far the largest vocab id may lie above the number of tokens (vocab plus added tokens) before the ids
    /// count as sparse: `tokens` is indexed by id, so one huge id would allocate gigabytes.
    static let idSlack = 65_536

    /// Reads `model`; `addedTokenCount` (the length of `added_tokens`) widens the id bound, since added tokens
    /// may take ids in gaps of the vocabulary.
    init(_ node: JSONNode, addedTokenCount: Int) throws {
        let vocabNode = try node.required("vocab")
        guard case .object(let vocab) = vocabNode.value else {
            throw vocabNode.invalid("vocab", "expected an object of token: id")
        }
        var tokenIds: [ByteKey: Int32] = [:]
        tokenIds.reserveCapacity(vocab.count)
        var maxId = -1
        var maxToken = ""
        var pairs: [(String, Int32)] = []
        pairs.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            guard case .number(let double) = value, let number = Int(exactly: double), number >= 0,
                  number < Int(Int32.max) else {
                throw TokenizerError.invalidValue(file: node.file, component: vocabNode.path, key: token,
                                                  reason: "a token id must be a non-negative integer")
            }
            pairs.append((token, Int32(number)))
            if number > maxId { (maxId, maxToken) = (number, token) }
        }
        let idLimit = vocab.count + max(0, addedTokenCount) + Self.idSlack
        guard maxId < idLimit else {
            throw TokenizerError.invalidValue(
                file: node.file, component: vocabNode.path, key: maxToken,
                reason: "id \(maxId) is far above the \(vocab.count) vocab and \(addedTokenCount) added tokens; "
                    + "token ids must be dense (below \(idLimit) here)")
        }
        var tokens = [[UInt8]?](repeating: nil, count: maxId + 1)
        var direct = [Int32](repeating: -1, count: Self.directLimit)
        for (token, id) in pairs {
            let bytes = Array(token.utf8)
            tokenIds[ByteKey(bytes)] = id
            tokens[Int(id)] = bytes
            let scalars = token.unicodeScalars
            if scalars.count == 1, let v = scalars.first?.value, v < Self.directLimit { direct[Int(v)] = id }
        }
        self.tokenIds = tokenIds
        self.tokens = tokens
        self.directScalarIds = direct

        byteFallback = try node.bool("byte_fallback", default: false)
        ignoreMerges = try node.bool("ignore_merges", default: false)
        fuseUnk = try node.bool("fuse_unk", default: false)
        continuingSubwordPrefix = Array((try node.optionalString("continuing_subword_prefix") ?? "").utf8)
        endOfWordSuffix = Array((try node.optionalString("end_of_word_suffix") ?? "").utf8)
        if let unk = try node.optionalString("unk_token") {
            guard let id = tokenIds[ByteKey(Array(unk.utf8))] else {
                throw TokenizerError.tokenNotInVocab(file: node.file, component: "model.unk_token", token: unk)
            }
            unkId = id
        } else {
            unkId = nil
        }
        byteTokenIds = (0..<256).map { b in
            let hex = String(b, radix: 16, uppercase: true)
            return tokenIds[ByteKey(Array("<0x\(hex.count == 1 ? "0" + hex : hex)>".utf8))] ?? -1
        }
        merges = try Self.parseMerges(node, tokenIds: tokenIds, prefix: continuingSubwordPrefix)
    }

    private static func parseMerges(_ node: JSONNode, tokenIds: [ByteKey: Int32], prefix: [UInt8]) throws -> PairRankTable {
        guard let mergesNode = try node.optional("merges") else { return PairRankTable(capacity: 0) }
        guard case .array(let list) = mergesNode.value else { throw mergesNode.invalid("merges", "expected an array") }
        var table = PairRankTable(capacity: list.count)
        for (rank, entry) in list.enumerated() {
            let left: String
            let right: String
            if case .string(let line) = entry {
                guard let space = line.firstIndex(of: " ") else {
                    throw mergesNode.invalid("merges", "entry \(rank) \"\(line)\" is not two tokens separated by a space")
                }
                left = String(line[..<space])
                right = String(line[line.index(after: space)...])
            } else if case .array(let pair) = entry, pair.count == 2, case .string(let a) = pair[0],
                      case .string(let b) = pair[1] {
                left = a
                right = b
            } else {
                throw mergesNode.invalid("merges", "entry \(rank) is neither \"a b\" nor [\"a\", \"b\"]")
            }
            let leftBytes = Array(left.utf8)
            let rightBytes = Array(right.utf8)
            guard let l = tokenIds[ByteKey(leftBytes)] else {
                throw TokenizerError.mergeTokenNotInVocab(file: node.file, mergeIndex: rank, token: left)
            }
            guard let r = tokenIds[ByteKey(rightBytes)] else {
                throw TokenizerError.mergeTokenNotInVocab(file: node.file, mergeIndex: rank, token: right)
            }
            // With a continuing-subword prefix, "a" + "##b" makes "ab", as in the tokenizers library.
            let mergedBytes = !prefix.isEmpty && rightBytes.starts(with: prefix)
                ? leftBytes + rightBytes.dropFirst(prefix.count) : leftBytes + rightBytes
            guard let merged = tokenIds[ByteKey(mergedBytes)] else {
                throw TokenizerError.mergeTokenNotInVocab(file: node.file, mergeIndex: rank,
                                                          token: String(decoding: mergedBytes, as: UTF8.self))
            }
            table.insert(l, r, rank: Int32(rank), result: merged)
        }
        return table
    }

    /// The id of a token string in the model vocabulary.
    func id(of token: [UInt8]) -> Int32? { tokenIds[ByteKey(token)] }

    /// Appends the ids of `word` to `out`.
    func tokenize(_ word: [UInt8], into out: inout [Int32]) {
        if word.isEmpty { return }
        if ignoreMerges, let id = tokenIds[ByteKey(word)] {
            out.append(id)
            return
        }
        let cacheable = word.count < cache.maxWordLength
        let key = ByteKey(word)
        if cacheable, let hit = cache.lookup(key) {
            out.append(contentsOf: hit)
            return
        }
        var ids = initialSymbols(word)
        if ids.count > 1 {
            if ids.count <= 24 { mergeByScanning(&ids) } else { mergeWithHeap(&ids) }
        }
        if cacheable { cache.store(key, ids) }
        out.append(contentsOf: ids)
    }

    /// One symbol per scalar (or per byte, with byte fallback), before any merge.
    private func initialSymbols(_ word: [UInt8]) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(word.count)
        let plain = continuingSubwordPrefix.isEmpty && endOfWordSuffix.isEmpty
        var pendingUnk = false
        word.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                let (v, n) = UnicodeText.decode(buffer, at: i)
                var found: Int32 = -1
                var symbol: [UInt8] = []
                if plain && v < Self.directLimit {
                    found = directScalarIds[Int(v)]
                } else {
                    if i > 0 { symbol.append(contentsOf: continuingSubwordPrefix) }
                    symbol.append(contentsOf: buffer[i..<(i + n)])
                    if i + n == buffer.count { symbol.append(contentsOf: endOfWordSuffix) }
                    found = tokenIds[ByteKey(symbol)] ?? -1
                }
                if found < 0 && plain && v < Self.directLimit { symbol = Array(buffer[i..<(i + n)]) }
                if found >= 0 {
                    if pendingUnk, let unk = unkId { ids.append(unk) }
                    pendingUnk = false
                    ids.append(found)
                } else if byteFallback && symbol.allSatisfy({ byteTokenIds[Int($0)] >= 0 }) {
                    // As in the tokenizers library, a pending unknown token is not flushed here.
                    for b in symbol { ids.append(byteTokenIds[Int(b)]) }
                } else if let unk = unkId {
                    if pendingUnk && !fuseUnk { ids.append(unk) }
                    pendingUnk = true
                }
                i += n
            }
        }
        if pendingUnk, let unk = unkId { ids.append(unk) }
        return ids
    }

    /// Repeatedly merges the lowest-ranked adjacent pair (leftmost on ties); quadratic, fast for short words.
    private func mergeByScanning(_ ids: inout [Int32]) {
        while ids.count > 1 {
            var bestRank = UInt64.max
            var bestIndex = -1
            var bestResult: Int32 = 0
            for i in 0..<(ids.count - 1) {
                if let m = merges.lookup(ids[i], ids[i + 1]), (m >> 32) < bestRank {
                    bestRank = m >> 32
                    bestIndex = i
                    bestResult = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
                }
            }
            if bestIndex < 0 { return }
            ids[bestIndex] = bestResult
            ids.remove(at: bestIndex + 1)
        }
    }

    /// The same merge order with a priority queue over a linked list of symbols, for long words.
    private func mergeWithHeap(_ ids: inout [Int32]) {
        let n = ids.count
        var next = (0..<n).map { Int32($0 + 1 < n ? $0 + 1 : -1) }
        var prev = (0..<n).map { Int32($0 - 1) }
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let m = merges.lookup(ids[i], ids[i + 1]) { heap.push((m >> 32) << 32 | UInt64(i)) }
        }
        while let top = heap.pop() {
            let pos = Int(top & 0xFFFF_FFFF)
            let rank = top >> 32
            if ids[pos] < 0 { continue }
            let nx = Int(next[pos])
            if nx < 0 { continue }
            guard let m = merges.lookup(ids[pos], ids[nx]), m >> 32 == rank else { continue }
            ids[pos] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
            ids[nx] = -1
            let after = next[nx]
            next[pos] = after
            if after >= 0 { prev[Int(after)] = Int32(pos) }
            let before = Int(prev[pos])
            if before >= 0, let m = merges.lookup(ids[before], ids[pos]) {
                heap.push((m >> 32) << 32 | UInt64(before))
            }
            if after >= 0, let m = merges.lookup(ids[pos], ids[Int(after)]) {
                heap.push((m >> 32) << 32 | UInt64(pos))
            }
        }
        ids.removeAll { $0 < 0 }
    }
}

/// A binary min-heap of packed `rank << 32 | position` merge candidates.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ value: UInt64) {
        items.append(value)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var smallest = i
            if l < items.count && items[l] < items[smallest] { smallest = l }
            if r < items.count && items[r] < items[smallest] { smallest = r }
            if smallest == i { break }
            items.swapAt(i, smallest)
            i = smallest
        }
        return first
    }
}
