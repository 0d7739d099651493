// skynet: a 10-ary tree of goroutines. Each leaf sends its number to its
// parent; each inner node adds up its children's numbers and sends the sum
// up. With 1,000,000 leaves the result is 499999500000.

import Goroutines

enum Skynet {
    static let defaultLeaves = 1_000_000

    static func node(_ out: Channel<Int>, _ number: Int, _ size: Int, _ branching: Int) {
        if size == 1 {
            out.send(number)
            return
        }
        let children = Channel<Int>(capacity: branching)
        let step = size / branching
        for i in 0..<branching {
            let first = number + i * step
            go { node(children, first, step, branching) }
        }
        var sum = 0
        for _ in 0..<branching { sum += children.receive()! }
        out.send(sum)
    }

    static func run(_ options: Options) -> Int32 {
        if let procs = options.gomaxprocs { Runtime.setMaxProcs(procs) }
        let leaves = options.goroutines ?? defaultLeaves
        let start = ContinuousClock.now
        let out = Channel<Int>()
        go { node(out, 0, leaves, 10) }
        let result = out.receive()!
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let procs = Runtime.maxProcs
        Console.say("skynet result=\(result) gomaxprocs=\(procs) goroutines=\(leaves) ms=\(millis)")
        return result == leaves * (leaves - 1) / 2 ? 0 : 1
    }
}
