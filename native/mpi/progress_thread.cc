#include "progress_thread.h"

namespace siglip::mpi {

// A new thread waits its turn behind the computing threads: measured on a 2-core machine, one
// started with a chunk's compute had not run once when the chunk ended, 4 ms later. So it is
// started here and run at once while this thread waits; from then on it sleeps, and a
// sleeping thread that is woken runs ahead of the compute.
ProgressThread::ProgressThread(std::vector<std::vector<MPI_Request>*> inFlight)
    : inFlight_(std::move(inFlight)), thread_([this] { loop(); }) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, [&] { return started_; });
}

ProgressThread::~ProgressThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ProgressThread::during(std::chrono::microseconds interval,
                            const std::function<void()>& compute) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    interval_ = interval;
    computing_ = true;
    ++computation_;
  }
  wake_.notify_all();
  try {
    compute();
  } catch (...) {
    stopTesting();
    throw;
  }
  stopTesting();
}

// Tests run under the lock, so none is under way once this has taken it.
void ProgressThread::stopTesting() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    computing_ = false;
  }
  wake_.notify_all();
}

void ProgressThread::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  started_ = true;
  wake_.notify_all();
  uint64_t seen = 0;
  for (;;) {
    wake_.wait(lock, [&] { return quit_ || (computing_ && computation_ != seen); });
    if (quit_) return;
    seen = computation_;
    const auto thisComputation = [&] { return !quit_ && computing_ && computation_ == seen; };
    while (thisComputation()) {
      bool pending = false;
      for (std::vector<MPI_Request>* requests : inFlight_) {
        int complete = 1;
        if (!requests->empty())
          MPI_Testall(static_cast<int>(requests->size()), requests->data(), &complete,
                      MPI_STATUSES_IGNORE);
        pending = pending || !complete;
      }
      if (!pending) break;  // until the next computation
      wake_.wait_for(lock, interval_, [&] { return !thisComputation(); });
    }
  }
}

}  // namespace siglip::mpi
