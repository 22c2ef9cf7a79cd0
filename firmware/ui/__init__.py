# ui package
