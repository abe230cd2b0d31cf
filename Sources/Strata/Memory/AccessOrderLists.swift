/// The policy's bookkeeping for entries: one node per slot in a flat array, threaded into three
/// intrusive doubly linked lists (window, probation, protected) by `Int32` indices.
///
/// Why arrays, not class nodes: moving a node is a few stores into one array the owner mutates in
/// place, with no retain/release, no allocation per entry, and nodes packed 32 bytes apart. Slots
/// are recycled through a free list threaded through `next`, so a slot number is stable for as long
/// as its entry lives and the storage layer can index its own arrays by it.
struct AccessOrderLists {
    /// Which list a node is on.
    enum Region: UInt8 {
        case free, window, probation, protected
    }

    /// One entry's policy state.
    struct Node {
        var hash: UInt64
        var weight: Int
        /// Towards the least recently used end; -1 at the end.
        var previous: Int32
        /// Towards the most recently used end; -1 at the end (and the free-list link).
        var next: Int32
        var region: Region
    }

    /// A list's ends and totals.
    struct List {
        /// The least recently used node, -1 when empty.
        var head: Int32 = -1
        /// The most recently used node, -1 when empty.
        var tail: Int32 = -1
        var weight = 0
        var count = 0
    }

    private(set) var nodes: [Node] = []
    private var freeHead: Int32 = -1
    private(set) var window = List()
    private(set) var probation = List()
    private(set) var protected = List()

    /// Live nodes on all three lists.
    var count: Int { window.count + probation.count + protected.count }
    /// Summed weight of the live nodes.
    var weight: Int { window.weight + probation.weight + protected.weight }

    subscript(slot: Int32) -> Node {
        @inline(__always) get { nodes[Int(slot)] }
    }

    /// Takes a free slot (or grows the array) and appends it, most recently used, to `region`.
    ///
    /// - Complexity: O(1) amortised.
    mutating func allocate(hash: UInt64, weight: Int, in region: Region) -> Int32 {
        let slot: Int32
        if freeHead >= 0 {
            slot = freeHead
            freeHead = nodes[Int(slot)].next
            nodes[Int(slot)] = Node(hash: hash, weight: weight, previous: -1, next: -1, region: .free)
        } else {
            precondition(nodes.count < Int(Int32.max), "more entries than Int32 slots")
            slot = Int32(nodes.count)
            nodes.append(Node(hash: hash, weight: weight, previous: -1, next: -1, region: .free))
        }
        append(slot, to: region)
        return slot
    }

    /// Unlinks the node and returns its slot to the free list.
    mutating func free(_ slot: Int32) {
        unlink(slot)
        nodes[Int(slot)].next = freeHead
        nodes[Int(slot)].hash = 0
        freeHead = slot
    }

    /// Moves a live node to the most recently used end of `region` (its own or another list).
    @inline(__always)
    mutating func move(_ slot: Int32, to region: Region) {
        let node = nodes[Int(slot)]
        if node.region == region && node.next < 0 { return }  // already the most recent
        unlink(slot)
        append(slot, to: region)
    }

    /// Moves a live node to the least recently used end of `region`.
    mutating func moveToFront(_ slot: Int32, of region: Region) {
        unlink(slot)
        var list = self[list: region]
        let weight = nodes[Int(slot)].weight
        nodes[Int(slot)].region = region
        nodes[Int(slot)].previous = -1
        nodes[Int(slot)].next = list.head
        if list.head >= 0 { nodes[Int(list.head)].previous = slot } else { list.tail = slot }
        list.head = slot
        list.weight += weight
        list.count += 1
        self[list: region] = list
    }

    /// Changes a live node's weight, keeping its list's total right.
    mutating func setWeight(_ slot: Int32, to weight: Int) {
        let node = nodes[Int(slot)]
        self[list: node.region].weight += weight - node.weight
        nodes[Int(slot)].weight = weight
    }

    /// The totals of one list.
    subscript(list region: Region) -> List {
        @inline(__always) get {
            switch region {
            case .window: return window
            case .probation: return probation
            case .protected: return protected
            case .free: return List()
            }
        }
        @inline(__always) set {
            switch region {
            case .window: window = newValue
            case .probation: probation = newValue
            case .protected: protected = newValue
            case .free: break
            }
        }
    }

    @inline(__always)
    private mutating func append(_ slot: Int32, to region: Region) {
        var list = self[list: region]
        let weight = nodes[Int(slot)].weight
        nodes[Int(slot)].region = region
        nodes[Int(slot)].previous = list.tail
        nodes[Int(slot)].next = -1
        if list.tail >= 0 { nodes[Int(list.tail)].next = slot } else { list.head = slot }
        list.tail = slot
        list.weight += weight
        list.count += 1
        self[list: region] = list
    }

    @inline(__always)
    private mutating func unlink(_ slot: Int32) {
        let node = nodes[Int(slot)]
        guard node.region != .free else { return }
        var list = self[list: node.region]
        if node.previous >= 0 { nodes[Int(node.previous)].next = node.next } else { list.head = node.next }
        if node.next >= 0 { nodes[Int(node.next)].previous = node.previous } else { list.tail = node.previous }
        list.weight -= node.weight
        list.count -= 1
        self[list: node.region] = list
        nodes[Int(slot)].region = .free
    }
}
