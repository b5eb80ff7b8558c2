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
  // `inFlight`: the requests it tests, the same vectors for its whole life (their contents
  // change only while no computation runs). Returns once the thread runs.
  explicit ProgressThread(std::vector<std::vector<MPI_Request>*> inFlight);
  ~ProgressThread();
  ProgressThread(const ProgressThread&) = delete;
  ProgressThread& operator=(const ProgressThread&) = delete;

  // Runs `compute` on the calling thread while this one tests the requests every `interval`;
  // they are not touched once it returns.
  void during(std::chrono::microseconds interval, const std::function<void()>& compute);

 private:
  void loop();
  void stopTesting();

  const std::vector<std::vector<MPI_Request>*> inFlight_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::chrono::microseconds interval_{1000};
  uint64_t computation_ = 0;  // counts the calls of during()
  bool computing_ = false, started_ = false, quit_ = false;
  std::thread thread_;  // last: it starts once the members it uses exist
};

}  // namespace siglip::mpi
