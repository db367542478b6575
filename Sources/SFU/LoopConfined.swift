import NIOCore

/// An object that belongs to one event loop, carried to it in a task (the compiler cannot see the confinement,
/// so this checks it, as NIO's `NIOLoopBound` does): `value` may only be read on `loop`. Unlike `NIOLoopBound`
/// it may be made on another loop, since the control plane and the other media loops hand such objects over.
struct LoopConfined<Value: AnyObject>: @unchecked Sendable {
    let loop: any EventLoop
    private let _value: Value

    init(_ value: Value, on loop: any EventLoop) {
        self._value = value
        self.loop = loop
    }

    /// The object; a precondition failure anywhere but on its loop.
    var value: Value {
        loop.preconditionInEventLoop()
        return _value
    }

    /// Whether both wrap the same object, from any thread (identity only, no access).
    func wraps(_ other: LoopConfined<Value>) -> Bool { _value === other._value }

    /// Runs `body` with the object on its loop, from any thread.
    func execute(_ body: @escaping @Sendable (Value) -> Void) {
        let confined = self
        loop.execute { body(confined.value) }
    }

    /// Runs `body` with the object on its loop and returns once it has run (at once if the loop is gone).
    func run(_ body: @escaping @Sendable (Value) -> Void) async {
        let confined = self
        try? await loop.submit { body(confined.value) }.get()
    }
}

/// Checks that the caller runs on `loop`, in debug builds only: compiled out of release builds entirely (not even
/// a call through the existential), so the media path pays nothing for it.
@inline(__always)
func assertOnLoop(_ loop: (any EventLoop)?) {
    #if DEBUG
    loop?.preconditionInEventLoop()
    #endif
}
