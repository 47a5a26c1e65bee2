/// `label  value` lines with the labels padded to one width, for one object's fields.
struct FieldList {
    /// The fields, in order.
    var fields: [(String, String)] = []

    /// Adds a field.
    mutating func add(_ label: String, _ value: String) { fields.append((label, value)) }

    /// The lines, ending with a newline.
    func rendered() -> String {
        let width = fields.map(\.0.count).max() ?? 0
        return fields.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 + "\n" }.joined()
    }
}
