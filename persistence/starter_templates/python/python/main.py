def greet(name: str) -> str:
    return f"Hello, {name}!"


def main() -> None:
    print(greet("Codeloft"))


if __name__ == "__main__":
    main()
