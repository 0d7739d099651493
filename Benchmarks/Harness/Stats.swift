// Summaries of repeated measurements: the median as the headline, with the
// full spread (minimum to maximum) and the interquartile range beside it.
// With five runs the quartiles are the second and fourth values.

/// Summary statistics of a non-empty sample.
struct Summary {
    let count: Int
    let median: Double
    let min: Double
    let max: Double
    let lowerQuartile: Double
    let upperQuartile: Double

    init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        count = sorted.count
        median = Summary.quantile(sorted, 0.5)
        min = sorted.first!
        max = sorted.last!
        lowerQuartile = Summary.quantile(sorted, 0.25)
        upperQuartile = Summary.quantile(sorted, 0.75)
    }

    /// The `q` quantile of sorted values, interpolating between neighbours.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let below = Int(position.rounded(.down))
        let above = Swift.min(below + 1, sorted.count - 1)
        let weight = position - Double(below)
        return sorted[below] * (1 - weight) + sorted[above] * weight
    }
}
