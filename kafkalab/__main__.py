from kafkalab._console import main

main()
