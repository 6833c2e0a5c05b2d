// One io_context run by a background thread, and a way for other threads to run
// a function on it and get its result: every call into a node (controller,
// phone, PBX) happens on this thread, as AsioDriver requires.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

namespace sipcc::python {

// Raised by IoThread::call once the thread has stopped.
class Closed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class IoThread {
public:
    explicit IoThread(std::string what) : what_(std::move(what)) {}
    ~IoThread() { stop(); }
    IoThread(const IoThread&) = delete;
    IoThread& operator=(const IoThread&) = delete;

    boost::asio::io_context& io() { return io_; }

    // Starts the thread (once). Work set up on the io_context before runs first.
    void start() {
        std::lock_guard lock(mutex_);
        if (thread_.joinable() || stopped_) return;
        thread_ = std::thread([this] { run(); });
        io_thread_id_ = thread_.get_id();
    }

    // Runs `fn` on the io thread and returns what it returns (or rethrows what it
    // throws). The caller blocks until then: release the GIL around it.
    template <class Fn>
    auto call(Fn&& fn) -> std::invoke_result_t<Fn&> {
        using Value = std::invoke_result_t<Fn&>;
        if (std::this_thread::get_id() == io_thread_id_) return fn();
        std::promise<Value> promise;
        auto future = promise.get_future();
        {
            // Posted under the lock, so it is queued before stop()'s io_context::stop
            // and is sure to run.
            std::lock_guard lock(mutex_);
            if (stopped_ || !thread_.joinable()) throw Closed(what_ + " is closed");
            boost::asio::post(io_, [&promise, &fn] {
                try {
                    if constexpr (std::is_void_v<Value>) {
                        fn();
                        promise.set_value();
                    } else {
                        promise.set_value(fn());
                    }
                } catch (...) {
                    promise.set_exception(std::current_exception());
                }
            });
        }
        return future.get();
    }

    // Lets the io thread finish the handlers already queued, then joins it. Idempotent.
    void stop() {
        std::thread thread;
        {
            std::lock_guard lock(mutex_);
            if (stopped_) return;
            stopped_ = true;
            thread = std::move(thread_);
            work_.reset();
            boost::asio::post(io_, [this] { io_.stop(); });
        }
        if (thread.joinable()) thread.join();
    }

    [[nodiscard]] bool running() const {
        std::lock_guard lock(mutex_);
        return thread_.joinable() && !stopped_;
    }

private:
    void run() {
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception& error) {
                // A handler threw: report it and keep the other nodes running.
                std::cerr << "sipcc: " << what_ << ": unexpected error: " << error.what() << "\n";
            }
        }
    }

    std::string what_;
    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
        boost::asio::make_work_guard(io_)};
    mutable std::mutex mutex_;
    std::thread thread_;
    std::thread::id io_thread_id_;  // set once, before any call()
    bool stopped_ = false;
};

}  // namespace sipcc::python
