// A value or the reason it could not be produced. The core never lets an
// exception escape, so every fallible operation returns one of these.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sipcc {

struct Error {
    std::string reason;
};

template <class T>
class Result {
public:
    Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    static Result failure(std::string reason) { return Result(Error{std::move(reason)}); }

    [[nodiscard]] bool ok() const { return std::holds_alternative<T>(state_); }
    explicit operator bool() const { return ok(); }

    [[nodiscard]] const T& value() const& { return std::get<T>(state_); }
    [[nodiscard]] T& value() & { return std::get<T>(state_); }
    [[nodiscard]] T&& value() && { return std::get<T>(std::move(state_)); }
    const T& operator*() const& { return value(); }
    T& operator*() & { return value(); }
    const T* operator->() const { return &value(); }
    T* operator->() { return &value(); }

    [[nodiscard]] const std::string& error() const { return std::get<Error>(state_).reason; }

private:
    std::variant<T, Error> state_;
};

}  // namespace sipcc
