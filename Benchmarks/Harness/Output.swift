// Turning results into the table on stdout and the CSV file.
//
// Each row is one figure of one benchmark. Cells show the median and, in
// brackets, the range from the fastest to the slowest run. `ours/go` divides
// our median by Go's: below 1 we are faster (or smaller), above 1 slower.

import Glibc

/// One figure of one benchmark, with a summary per implementation.
struct Row {
    let bench: Benchmark
    let key: String
    let unit: String
    let better: Better
    var summaries: [Impl: Summary] = [:]
    var values: [Impl: [Double]] = [:]
    var statuses: [Impl: String] = [:]

    /// This implementation's median over Go's.
    func ratioToGo(_ impl: Impl) -> Double? {
        guard let mine = summaries[impl], let go = summaries[.go], go.median != 0 else {
            return nil
        }
        return mine.median / go.median
    }
}

/// Keys every report carries that are not measurements.
private let bookkeepingKeys: Set<String> = ["result", "gomaxprocs", "cpus"]

/// The rows for `results`: declared figures, then (with `everything`) every
/// other figure reported, and the children's peak memory.
func makeRows(_ results: [BenchResults], impls: [Impl], everything: Bool) -> [Row] {
    var rows: [Row] = []
    for result in results {
        var figures = result.bench.metrics
        if everything {
            var seen = Set(figures.map(\.key)).union(bookkeepingKeys)
            for impl in impls {
                for key in result.byImpl[impl]?.keys ?? [] where !seen.contains(key) {
                    seen.insert(key)
                    figures.append(Metric(key: key, unit: key, better: .neither))
                }
            }
        }
        for metric in figures {
            var row = Row(
                bench: result.bench, key: metric.key, unit: metric.unit, better: metric.better)
            for impl in impls {
                let slot = result.byImpl[impl] ?? ImplResults()
                let values = slot.values[metric.key] ?? []
                row.values[impl] = values
                row.summaries[impl] = Summary(values)
                row.statuses[impl] = status(slot)
            }
            rows.append(row)
        }
    }
    return rows
}

private func status(_ slot: ImplResults) -> String {
    if let skipped = slot.skipped { return skipped }
    if slot.failures.isEmpty { return "ok" }
    return "FAILED \(slot.failures.count)/\(slot.attempted)"
}

/// A figure with about three significant digits.
func formatFigure(_ value: Double) -> String {
    guard value.isFinite, abs(value) < 1e18 else { return String(value) }
    let magnitude = abs(value)
    if magnitude >= 100 || value == value.rounded() { return String(Int(value.rounded())) }
    if magnitude >= 10 { return formatFixed(value, decimals: 1) }
    if magnitude >= 1 { return formatFixed(value, decimals: 2) }
    return formatFixed(value, decimals: 3)
}

private func cell(_ row: Row, _ impl: Impl) -> String {
    let status = row.statuses[impl] ?? ""
    guard let summary = row.summaries[impl] else {
        if status.hasPrefix("pending") { return "pending" }
        if status.hasPrefix("skipped") { return "skipped" }
        return status == "ok" ? "-" : status
    }
    var text = formatFigure(summary.median)
    if summary.count > 1 {
        text += " [\(formatFigure(summary.min))-\(formatFigure(summary.max))]"
    }
    if status != "ok" { text += " " + status }
    return text
}

private func ratioCell(_ row: Row, _ impl: Impl) -> String {
    guard let ratio = row.ratioToGo(impl) else { return "-" }
    var text = formatFixed(ratio, decimals: 2)
    switch row.better {
    case .lower: text += ratio < 1 ? " better" : (ratio > 1 ? " worse" : "")
    case .higher: text += ratio > 1 ? " better" : (ratio < 1 ? " worse" : "")
    case .neither: break
    }
    return text
}

/// Pads `text` on the right to `width` characters.
private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// The table, as lines of aligned columns.
func renderTable(_ rows: [Row], impls: [Impl]) -> [String] {
    var header = ["benchmark", "metric"]
    header += impls.map { "\($0.title) median [min-max]" }
    let ratioImpls = impls.filter { $0 != .go }
    if impls.contains(.go) { header += ratioImpls.map { "\($0.title)/go" } }

    var lines: [[String]] = [header]
    for row in rows {
        var cells = [row.bench.name, row.unit]
        cells += impls.map { cell(row, $0) }
        if impls.contains(.go) { cells += ratioImpls.map { ratioCell(row, $0) } }
        lines.append(cells)
    }
    var widths = [Int](repeating: 0, count: header.count)
    for line in lines {
        for (i, text) in line.enumerated() { widths[i] = max(widths[i], text.count) }
    }
    var rendered: [String] = []
    for (index, line) in lines.enumerated() {
        let text = line.enumerated().map { pad($0.element, widths[$0.offset]) }
        rendered.append(text.joined(separator: "  ").trimmedTrailingSpaces)
        if index == 0 {
            rendered.append(
                widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        }
    }
    return rendered
}

/// The CSV text: one line per row, medians, spreads, ratios, statuses and
/// the raw values of every run.
func renderCSV(_ rows: [Row], runs: Int) -> String {
    var columns = ["name", "metric", "unit", "better"]
    for impl in Impl.allCases {
        let name = impl.title
        columns += ["\(name)_median", "\(name)_min", "\(name)_max", "\(name)_q1", "\(name)_q3"]
    }
    columns += ["ratio_to_go", "swift_ratio_to_go", "runs"]
    columns += Impl.allCases.map { "\($0.title)_status" }
    columns += Impl.allCases.map { "\($0.title)_values" }

    var text = columns.joined(separator: ",") + "\n"
    for row in rows {
        var fields = [row.bench.name, row.key, row.unit, row.better.rawValue]
        for impl in Impl.allCases {
            if let s = row.summaries[impl] {
                fields += [s.median, s.min, s.max, s.lowerQuartile, s.upperQuartile].map {
                    formatFixed($0, decimals: 3)
                }
            } else {
                fields += ["", "", "", "", ""]
            }
        }
        fields.append(row.ratioToGo(.ours).map { formatFixed($0, decimals: 4) } ?? "")
        fields.append(row.ratioToGo(.swift).map { formatFixed($0, decimals: 4) } ?? "")
        fields.append(String(runs))
        fields += Impl.allCases.map { row.statuses[$0] ?? "not run" }
        fields += Impl.allCases.map { impl in
            (row.values[impl] ?? []).map { formatFixed($0, decimals: 3) }.joined(separator: ";")
        }
        text += fields.map(csvField).joined(separator: ",") + "\n"
    }
    return text
}

private func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
    return "\"" + text.replacing("\"", with: "\"\"") + "\""
}

extension String {
    var trimmedTrailingSpaces: String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}

/// Writes `text` to `path`, replacing it. Returns an error message or nil.
func writeTextFile(_ path: String, _ text: String) -> String? {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return "cannot write \(path): \(String(cString: strerror(errno)))" }
    writeAll(fd, text)
    close(fd)
    return nil
}
