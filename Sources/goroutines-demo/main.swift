import Goroutines
import Glibc

func skynet(_ out: Channel<Int>, _ num: Int, _ size: Int, _ div: Int) {
    if size == 1 {
        out.send(num)
        return
    }
    let children = Channel<Int>(capacity: div)
    let step = size / div
    for i in 0..<div {
        let sub = num + i * step
        go { skynet(children, sub, step, div) }
    }
    var sum = 0
    for _ in 0..<div { sum += children.receive()! }
    out.send(sum)
}

Runtime.main {
    let start = ContinuousClock.now
    let out = Channel<Int>()
    go { skynet(out, 0, 1_000_000, 10) }
    let result = out.receive()!
    let ms = (ContinuousClock.now - start).components
    let millis = ms.seconds * 1000 + ms.attoseconds / 1_000_000_000_000_000
    print("skynet result=\(result) gomaxprocs=\(Runtime.maxProcs) goroutines=1000000 ms=\(millis)")
}
