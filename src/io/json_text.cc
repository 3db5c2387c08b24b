#include "io/json_text.h"

#include <nlohmann/json.hpp>

namespace fathom::io {

std::string JsonText(const nlohmann::ordered_json& j, int indent) {
  std::string text = j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (indent >= 0) text += '\n';
  return text;
}

}  // namespace fathom::io
