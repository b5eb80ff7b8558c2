#include "engine_pool.h"

#include <mutex>
#include <vector>

namespace siglip {
namespace {

class EnginePool {
 public:
  std::unique_ptr<TileEngine> take(Precision precision, int64_t dim) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
      if (it->precision != precision || it->dim != dim) continue;
      std::unique_ptr<TileEngine> engine = std::move(it->engine);
      idle_.erase(std::next(it).base());
      return engine;
    }
    return nullptr;
  }

  void give(Precision precision, int64_t dim, std::unique_ptr<TileEngine> engine) {
    std::unique_ptr<TileEngine> evicted;  // freed outside the lock
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.size() >= capacity_) {
      evicted = std::move(idle_.front().engine);  // the least recently given back
      idle_.erase(idle_.begin());
    }
    idle_.push_back({precision, dim, std::move(engine)});
  }

 private:
  struct Idle {
    Precision precision;
    int64_t dim;
    std::unique_ptr<TileEngine> engine;
  };
  const size_t capacity_ = static_cast<size_t>(resolveThreads(0));  // one engine a core
  std::mutex mutex_;
  std::vector<Idle> idle_;
};

// Never destroyed: at process exit a pass may still be running on another
// thread (an async call), and its workers give their engines back after the
// static destructors have run.
EnginePool& pool() {
  static EnginePool* const instance = new EnginePool();
  return *instance;
}

}  // namespace

void ReturnToPool::operator()(TileEngine* engine) const {
  std::unique_ptr<TileEngine> owned(engine);
  try {
    pool().give(precision, dim, std::move(owned));
  } catch (...) {  // no room to keep it (bad_alloc): `owned` frees it
  }
}

LeasedEngine leaseTileEngine(Precision precision, int64_t dim) {
  std::unique_ptr<TileEngine> engine = pool().take(precision, dim);
  if (!engine) engine = makeTileEngine(precision, dim);
  return LeasedEngine(engine.release(), ReturnToPool{precision, dim});
}

}  // namespace siglip
