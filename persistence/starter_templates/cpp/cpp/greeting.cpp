#include "greeting.hpp"

std::string greeting(const std::string& name) { return "Hello, " + name + "!"; }
