package dev.worka.gateway.runtime.wasm;

import com.dylibso.chicory.runtime.ByteArrayMemory;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.types.DataSegment;
import com.dylibso.chicory.wasm.types.MemoryLimits;

/**
 * A module's linear memory, held to the agent's {@code resources.memory}: a module that declares
 * more pages at start, or grows past the limit, is stopped at once ({@link LimitExceeded}) — the
 * way a cgroup stops a process that allocates past its limit — rather than handed a {@code -1} its
 * code may ignore. Growth within the limit but past the module's own declared maximum is the
 * ordinary {@code -1} of {@code memory.grow}. Everything else is the delegate's.
 */
@SuppressWarnings("removal") // Memory's lock/waitOn/notify: deprecated, still abstract, delegated
final class BoundedMemory implements Memory {
  private final Memory delegate;
  private final int maxPages;

  BoundedMemory(MemoryLimits declared, int maxPages) {
    if (declared.initialPages() > maxPages) {
      throw new LimitExceeded(
          "memory",
          "the module declares "
              + describe(declared.initialPages())
              + " of linear memory at start, past its limit of "
              + describe(maxPages));
    }
    this.delegate = new ByteArrayMemory(declared);
    this.maxPages = maxPages;
  }

  static String describe(long pages) {
    return pages + " pages (" + pages * PAGE_SIZE / 1024 + " KiB)";
  }

  @Override
  public int grow(int size) {
    long wanted = (long) delegate.pages() + Integer.toUnsignedLong(size);
    if (wanted > maxPages) {
      throw new LimitExceeded(
          "memory",
          "the module asked to grow its linear memory to "
              + describe(wanted)
              + ", past its limit of "
              + describe(maxPages));
    }
    return delegate.grow(size);
  }

  @Override
  public int pages() {
    return delegate.pages();
  }

  @Override
  public int initialPages() {
    return delegate.initialPages();
  }

  @Override
  public int maximumPages() {
    return Math.min(delegate.maximumPages(), maxPages);
  }

  @Override
  public boolean shared() {
    return delegate.shared();
  }

  @Override
  public Object lock(int address) {
    return delegate.lock(address);
  }

  @Override
  public int waitOn(int address, int expected, long timeout) {
    return delegate.waitOn(address, expected, timeout);
  }

  @Override
  public int waitOn(int address, long expected, long timeout) {
    return delegate.waitOn(address, expected, timeout);
  }

  @Override
  public int notify(int address, int maxThreads) {
    return delegate.notify(address, maxThreads);
  }

  @Override
  public void initialize(Instance instance, DataSegment[] dataSegments) {
    delegate.initialize(instance, dataSegments);
  }

  @Override
  public void initialize(Instance instance, DataSegment[] dataSegments, int memoryIndex) {
    delegate.initialize(instance, dataSegments, memoryIndex);
  }

  @Override
  public void initPassiveSegment(int segmentId, int dest, int offset, int size) {
    delegate.initPassiveSegment(segmentId, dest, offset, size);
  }

  @Override
  public void write(int addr, byte[] data, int offset, int size) {
    delegate.write(addr, data, offset, size);
  }

  @Override
  public byte read(int addr) {
    return delegate.read(addr);
  }

  @Override
  public byte[] readBytes(int addr, int len) {
    return delegate.readBytes(addr, len);
  }

  @Override
  public void writeI32(int addr, int data) {
    delegate.writeI32(addr, data);
  }

  @Override
  public int readInt(int addr) {
    return delegate.readInt(addr);
  }

  @Override
  public void writeLong(int addr, long data) {
    delegate.writeLong(addr, data);
  }

  @Override
  public long readLong(int addr) {
    return delegate.readLong(addr);
  }

  @Override
  public void writeShort(int addr, short data) {
    delegate.writeShort(addr, data);
  }

  @Override
  public short readShort(int addr) {
    return delegate.readShort(addr);
  }

  @Override
  public long readU16(int addr) {
    return delegate.readU16(addr);
  }

  @Override
  public void writeByte(int addr, byte data) {
    delegate.writeByte(addr, data);
  }

  @Override
  public void writeF32(int addr, float data) {
    delegate.writeF32(addr, data);
  }

  @Override
  public long readF32(int addr) {
    return delegate.readF32(addr);
  }

  @Override
  public float readFloat(int addr) {
    return delegate.readFloat(addr);
  }

  @Override
  public void writeF64(int addr, double data) {
    delegate.writeF64(addr, data);
  }

  @Override
  public double readDouble(int addr) {
    return delegate.readDouble(addr);
  }

  @Override
  public long readF64(int addr) {
    return delegate.readF64(addr);
  }

  @Override
  public void zero() {
    delegate.zero();
  }

  @Override
  public void fill(byte value, int fromIndex, int toIndex) {
    delegate.fill(value, fromIndex, toIndex);
  }

  @Override
  public void copy(int dest, int src, int size) {
    delegate.copy(dest, src, size);
  }

  @Override
  public void drop(int segment) {
    delegate.drop(segment);
  }
}
