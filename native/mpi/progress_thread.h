// Open MPI moves a large message only while some thread is inside an MPI call: while a rank
// computes, this thread keeps testing the transfers in flight, which is what hides them behind
// the compute. It sleeps between tests rather than spinning, and waits without testing when
// nothing is in flight or nothing is computing.
#pragma once

#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace siglip::mpi {

class ProgressThread {
 public:
  ProgressThread();  // returns once the thread runs
  ~ProgressThread();
  ProgressThread(const ProgressThread&) = delete;
  ProgressThread& operator=(const ProgressThread&) = delete;

  // Runs `compute` on the calling thread while this one tests `inFlight` every `interval`;
  // the requests are not touched once it returns.
  void during(std::vector<std::vector<MPI_Request>*> inFlight, std::chrono::microseconds interval,
              const std::function<void()>& compute);

 private:
  void loop();
  void stopTesting();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::vector<MPI_Request>*> inFlight_;
  std::chrono::microseconds interval_{1000};
  uint64_t computation_ = 0;  // counts the calls of during()
  bool computing_ = false, started_ = false, quit_ = false;
  std::thread thread_;  // last: it starts once the members it uses exist
};

}  // namespace siglip::mpi
