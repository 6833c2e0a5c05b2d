// C++ exceptions of the binding; module.cpp turns each into the Python exception
// of the same name in sipcc.exceptions, with the core's message.
#pragma once

#include <stdexcept>

namespace sipcc::python {

// A setting the core refused: bad value, unknown key, bad scenario file.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A number (or dialing rules) the core could not normalize or render.
class NumberError : public ConfigError {
public:
    using ConfigError::ConfigError;
};

// A socket that could not be bound.
class TransportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace sipcc::python
