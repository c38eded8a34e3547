import Foundation

/// The hunt's threads: `count` of them (`-j`), for everything, files and the chunks of a big event
/// log alike. Work is blocking file I/O and parsing, so it runs on threads of its own, never on
/// Swift concurrency's cooperative pool.
///
/// Files are handed out in the given order. A worker hunting a big file can split it into a
/// batch (`parallel`): it works on the batch itself, and idle workers help before taking another
/// file, so at most `count` threads ever run and none sits idle while a batch has work.
final class WorkerPool: @unchecked Sendable {
    let count: Int
    private let condition = NSCondition()

    private final class Batch {
        let size: Int
        var next = 0
        var done = 0
        let body: (_ worker: Int, _ index: Int) -> Void
        init(size: Int, body: @escaping (Int, Int) -> Void) {
            self.size = size
            self.body = body
        }
    }

    private var batches: [Batch] = []
    private var order: [Int] = []
    private var position = 0
    private var filesDone = 0
    private var stopped = false

    init(count: Int) { self.count = max(1, count) }

    /// Runs `body(worker, file)` for every index of `order` on the pool's threads and returns when
    /// all are done (or `stop()` was called and the files under way have finished). Call from a
    /// thread that may block.
    func run(_ order: [Int], _ body: @escaping @Sendable (_ worker: Int, _ file: Int) -> Void) {
        condition.lock()
        self.order = order
        position = 0
        filesDone = 0
        condition.unlock()
        let group = DispatchGroup()
        for w in 0..<count {
            group.enter()
            let thread = Thread { [self] in
                loop(worker: w, body)
                group.leave()
            }
            thread.name = "exhunt-worker-\(w)"
            // Parsers recurse over nested input within their own bounds; give them room.
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
    }

    /// Hands out no more files; those under way finish.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop(worker: Int, _ body: (Int, Int) -> Void) {
        condition.lock()
        while true {
            if let batch = batches.first(where: { $0.next < $0.size }) {
                let i = batch.next
                batch.next += 1
                condition.unlock()
                batch.body(worker, i)
                condition.lock()
                batch.done += 1
                if batch.done == batch.size { condition.broadcast() }
                continue
            }
            if !stopped, position < order.count {
                let file = order[position]
                position += 1
                condition.unlock()
                body(worker, file)
                condition.lock()
                filesDone += 1
                continue
            }
            // Every file handed out is done: nobody can make another batch.
            if filesDone == position { break }
            condition.wait()
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `body(worker, i)` for i in 0..<size on the calling worker and any idle ones; returns
    /// when all are done. The caller runs only this batch's items meanwhile, so the state it
    /// keeps per worker (`worker` is the index of the thread running an item) is never shared.
    func parallel(_ size: Int, from worker: Int, _ body: @escaping (_ worker: Int, _ index: Int) -> Void) {
        guard size > 0 else { return }
        guard count > 1, size > 1 else {
            for i in 0..<size { body(worker, i) }
            return
        }
        let batch = Batch(size: size, body: body)
        condition.lock()
        batches.append(batch)
        condition.broadcast()
        while batch.next < batch.size {
            let i = batch.next
            batch.next += 1
            condition.unlock()
            body(worker, i)
            condition.lock()
            batch.done += 1
        }
        while batch.done < batch.size { condition.wait() }
        batches.removeAll { $0 === batch }
        condition.unlock()
    }
}
