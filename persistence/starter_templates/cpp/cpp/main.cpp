#include <iostream>
#include "greeting.hpp"

int main() {
    std::cout << greeting("Codeloft") << std::endl;
    return 0;
}
