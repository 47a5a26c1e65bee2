/// Rows printed in aligned columns under a header, two spaces apart; the last column is not padded.
struct TextTable {
    /// The column titles.
    var header: [String]
    /// The cells, one array per row, as many as the header.
    var rows: [[String]] = []
    /// Columns whose cells are aligned right (numbers, sizes).
    var rightAligned: Set<Int> = []

    /// The table as lines of text, ending with a newline.
    func rendered() -> String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        var out = ""
        for row in all {
            var cells: [String] = []
            for (index, cell) in row.enumerated() where index < widths.count {
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                let isLast = index == widths.count - 1
                cells.append(rightAligned.contains(index) ? pad + cell : (isLast ? cell : cell + pad))
            }
            // An empty last cell would leave the separator as trailing blanks.
            var line = cells.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
