// The ratio chart, as hand-written SVG: one group per figure, a bar for
// ours/go and one for swift/go, drawn from a vertical line at 1.0 on a
// logarithmic axis, so "twice as fast" and "twice as slow" are bars of the
// same length on either side of the line.

import Glibc

/// The SVG document for `rows`, titled with the machine header.
func renderChart(_ rows: [Row], header: [String]) -> String {
    let charted = rows.filter { $0.ratioToGo(.ours) != nil || $0.ratioToGo(.swift) != nil }
    let labelWidth = 360.0
    let plotWidth = 560.0
    let rowHeight = 34.0
    let top = 40.0 + Double(header.count) * 16 + 30
    let height = top + Double(max(charted.count, 1)) * rowHeight + 50
    let width = labelWidth + plotWidth + 90

    // The axis spans whole powers of two around the largest ratio, at least 1/4...4.
    var extreme = 2.0
    for row in charted {
        for impl in [Impl.ours, .swift] {
            if let ratio = row.ratioToGo(impl), ratio > 0 {
                extreme = max(extreme, abs(log2(ratio)).rounded(.up))
            }
        }
    }
    extreme = min(extreme, 10)
    func x(_ ratio: Double) -> Double {
        let clamped = min(max(log2(max(ratio, 1e-9)), -extreme), extreme)
        return labelWidth + (clamped + extreme) / (2 * extreme) * plotWidth
    }

    var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" \
        height="\(Int(height))" font-family="monospace" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="10" y="22" font-size="15" font-weight="bold">\
        goroutines-bench: median ratio to Go (log scale; left of 1.0 is faster or smaller)\
        </text>

        """
    for (i, line) in header.enumerated() {
        svg += "<text x=\"10\" y=\"\(42 + i * 16)\">\(escapeXML(line))</text>\n"
    }
    let legendY = top - 14
    svg += bar(labelWidth, legendY - 9, 14, 10, "#3b6fb6")
    svg += "<text x=\"\(coord(labelWidth + 18))\" y=\"\(coord(legendY))\">ours / go</text>\n"
    svg += bar(labelWidth + 120, legendY - 9, 14, 10, "#e08a2c")
    svg += "<text x=\"\(coord(labelWidth + 138))\" y=\"\(coord(legendY))\">swift / go</text>\n"

    // Grid lines at powers of two, and the line at 1.0.
    let bottom = top + Double(charted.count) * rowHeight
    for power in stride(from: -Int(extreme), through: Int(extreme), by: 1) {
        let ratio = pow(2.0, Double(power))
        let gx = x(ratio)
        let stroke = power == 0 ? "#000000\" stroke-width=\"2" : "#dddddd"
        svg += "<line x1=\"\(coord(gx))\" y1=\"\(coord(top - 4))\" x2=\"\(coord(gx))\" "
        svg += "y2=\"\(coord(bottom))\" "
        svg += "stroke=\"\(stroke)\"/>\n"
        let label = power >= 0 ? formatFigure(ratio) : "1/\(Int(pow(2.0, Double(-power))))"
        svg += "<text x=\"\(coord(gx))\" y=\"\(coord(bottom + 16))\" "
        svg += "text-anchor=\"middle\">\(label)</text>\n"
    }

    for (index, row) in charted.enumerated() {
        let y = top + Double(index) * rowHeight
        let direction = row.better == .higher ? " (higher is better)" : ""
        let name = escapeXML("\(row.bench.name): \(row.unit)\(direction)")
        svg += "<text x=\"\(coord(labelWidth - 8))\" y=\"\(coord(y + 19))\" "
        svg += "text-anchor=\"end\">\(name)</text>\n"
        for (offset, impl, color) in [(4.0, Impl.ours, "#3b6fb6"), (17.0, .swift, "#e08a2c")] {
            guard let ratio = row.ratioToGo(impl) else { continue }
            let from = min(x(1), x(ratio))
            let length = max(abs(x(ratio) - x(1)), 1)
            svg += bar(from, y + offset, length, 11, color)
            // A label that would run into the names goes right of the 1.0 line.
            let roomOnLeft = from - labelWidth > 36
            let beyond = ratio >= 1 || !roomOnLeft ? max(from + length, x(1)) + 4 : from - 4
            let anchor = ratio >= 1 || !roomOnLeft ? "start" : "end"
            svg += "<text x=\"\(coord(beyond))\" y=\"\(coord(y + offset + 10))\" font-size=\"10\" "
            svg += "text-anchor=\"\(anchor)\">\(formatFixed(ratio, decimals: 2))</text>\n"
        }
    }
    svg += "</svg>\n"
    return svg
}

private func bar(_ x: Double, _ y: Double, _ width: Double, _ height: Double, _ color: String)
    -> String
{
    "<rect x=\"\(coord(x))\" y=\"\(coord(y))\" width=\"\(coord(width))\" "
        + "height=\"\(coord(height))\" fill=\"\(color)\"/>\n"
}

/// A coordinate with one decimal.
private func coord(_ value: Double) -> String { formatFixed(value, decimals: 1) }

private func escapeXML(_ text: String) -> String {
    var escaped = ""
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        default: escaped.append(character)
        }
    }
    return escaped
}
