#include "failure.hpp"

#include <dlpool/errors.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <system_error>
#include <typeinfo>

namespace dlpool::cli {
namespace {

std::string demangled(const std::type_info& type) {
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string result = status == 0 && name != nullptr ? name : type.name();
  std::free(name);
  return result;
}

}  // namespace

Failure failure_of(std::exception_ptr error) {
  // Most derived first: each handler names the exact class the pool raised.
  try {
    std::rethrow_exception(std::move(error));
  } catch (const RemoteError& e) {
    return {"RemoteError/" + e.remote_type(), e.remote_message(), e.pid()};
  } catch (const PluginNotFound& e) {
    return {"PluginNotFound", e.what()};
  } catch (const PluginLoadError& e) {
    return {"PluginLoadError", e.what()};
  } catch (const TaskNotFound& e) {
    return {"TaskNotFound", e.what()};
  } catch (const SignatureMismatch& e) {
    return {"SignatureMismatch", e.what()};
  } catch (const InitializerError& e) {
    return {"InitializerError", e.what()};
  } catch (const PluginError& e) {
    return {"PluginError", e.what()};
  } catch (const InvalidArguments& e) {
    return {invalid_arguments_type, e.what()};
  } catch (const EncodingError& e) {
    return {"EncodingError", e.what()};
  } catch (const WorkerLostError& e) {
    return {"WorkerLostError", e.what(), e.pid()};
  } catch (const ResourceLimitError& e) {
    return {"ResourceLimitError", e.what()};
  } catch (const TaskTimeout& e) {
    return {"TaskTimeout", e.what(), e.pid()};
  } catch (const Cancelled& e) {
    return {"Cancelled", e.what()};
  } catch (const WorkerStartError& e) {
    return {"WorkerStartError", e.what()};
  } catch (const PoolTerminated& e) {
    return {"PoolTerminated", e.what()};
  } catch (const ProtocolError& e) {
    return {"ProtocolError", e.what()};
  } catch (const TimeoutError& e) {
    return {"TimeoutError", e.what()};
  } catch (const UsageError& e) {
    return {"UsageError", e.what()};
  } catch (const Error& e) {
    return {"Error", e.what()};
  } catch (const std::exception& e) {
    return {demangled(typeid(e)), e.what()};
  } catch (...) {
    return {"unknown", "an exception that is not a std::exception"};
  }
}

}  // namespace dlpool::cli
